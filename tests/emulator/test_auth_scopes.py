"""Authentication, scopes, rotation grace, revocation and suspected compromise."""

from __future__ import annotations

import re

from .conftest import API, auth, error_of


def test_missing_and_unknown_keys_are_401(anon):
    assert error_of(anon.get(f"{API}/whoami"))["code"] == "UNAUTHENTICATED"
    response = anon.get(f"{API}/whoami", headers=auth("ifr_pk_proj_" + "x" * 40))
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    assert anon.get(f"{API}/whoami", headers={"Authorization": "Basic abc"}).status_code == 401


def test_whoami_names_the_caller(client, new_key):
    key, key_client = new_key()
    body = key_client.get(f"{API}/whoami").json()
    assert body["caller"] == {"key_id": key["key_id"], "project_id": key["project_id"]}
    assert body["tier"] == "standard" and body["balance_usd"] == 2.0 and body["account_id"].startswith("acct_")


def test_key_secret_format_and_shown_once(client, new_key):
    key, _ = new_key(name="ci")
    assert re.fullmatch(r"ifr_pk_proj_[0-9A-Za-z]{40}", key["key_secret"])
    listed = client.get(f"{API}/keys/list").json()["items"]
    assert all("key_secret" not in item for item in listed)


def test_scope_checks(client, new_key):
    _, reader = new_key(scopes=["account:read"])
    assert reader.get(f"{API}/projects/list").status_code == 200
    response = reader.post(f"{API}/projects/create", json={"name": "nope"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "INSUFFICIENT_SCOPE"
    _, writer = new_key(scopes=["projects:write"])
    assert writer.post(f"{API}/projects/create", json={"name": "yes"}).status_code == 200
    assert error_of(writer.get(f"{API}/projects/list"))["code"] == "INSUFFICIENT_SCOPE"  # every GET needs account:read


def test_scope_tightening_applies_to_next_request(client, new_key):
    key, key_client = new_key()
    assert key_client.post(f"{API}/projects/create", json={"name": "a"}).status_code == 200
    client.patch(f"{API}/keys/update/{key['key_id']}", json={"scopes": ["account:read"]})
    assert key_client.post(f"{API}/projects/create", json={"name": "b"}).status_code == 403


def test_project_scopes_bound_key_scopes(client, new_key):
    project = client.post(f"{API}/projects/create", json={"name": "ro", "scopes": ["account:read"]}).json()
    response = client.post(f"{API}/keys/create", json={"project_id": project["id"],
                                                       "scopes": ["account:read", "keys:write"]})
    assert response.status_code == 400 and error_of(response)["field"] == "scopes[1]"
    _, key_client = new_key(project_id=project["id"])  # empty key scopes: bounded by the project's
    assert key_client.get(f"{API}/balance").status_code == 200
    assert key_client.post(f"{API}/keys/create", json={}).status_code == 403


def test_revoke_is_effective_on_the_next_request(client, new_key):
    key, key_client = new_key()
    assert key_client.get(f"{API}/whoami").status_code == 200
    response = client.delete(f"{API}/keys/revoke/{key['key_id']}")
    assert response.status_code == 200 and response.json() == {"revoked": True}
    assert key_client.get(f"{API}/whoami").status_code == 401


def test_revoking_the_calling_key_is_a_conflict(client):
    me = client.get(f"{API}/whoami").json()["caller"]["key_id"]
    assert error_of(client.delete(f"{API}/keys/revoke/{me}"))["code"] == "CONFLICT"


def test_rotation_grace_follows_the_emulator_clock(app, client, new_key, emu):
    key, old_client = new_key()
    rotated = client.post(f"{API}/keys/rotate/{key['key_id']}", json={"grace_hours": 2}).json()
    assert rotated["key_id"] == key["key_id"] and rotated["key_secret"] != key["key_secret"]
    assert rotated["grace_expires_at"] is not None and rotated["last_rotated_at"] is not None
    emu.advance(2 * 3600 - 5)
    assert old_client.get(f"{API}/whoami").status_code == 200
    emu.advance(10)
    assert old_client.get(f"{API}/whoami").status_code == 401
    assert client.get(f"{API}/whoami", headers=auth(rotated["key_secret"])).status_code == 200


def test_rotation_with_zero_grace_and_bounds(client, new_key):
    key, old_client = new_key()
    client.post(f"{API}/keys/rotate/{key['key_id']}", json={"grace_hours": 0})
    assert old_client.get(f"{API}/whoami").status_code == 401
    response = client.post(f"{API}/keys/rotate/{key['key_id']}", json={"grace_hours": 169})
    assert response.status_code == 400 and error_of(response)["field"] == "grace_hours"


def test_suspected_compromise_variants(client, new_key, emu):
    key, old = new_key()
    flagged = client.post(f"{API}/keys/suspected_compromise/{key['key_id']}",
                          json={"auto_rotate": False}).json()
    assert flagged["status"] == "flagged" and "key_secret" not in flagged
    assert old.get(f"{API}/whoami").status_code == 200

    rotated = client.post(f"{API}/keys/suspected_compromise/{key['key_id']}", json={}).json()
    assert rotated["status"] == "active" and rotated["key_secret"]
    emu.advance(3599)
    assert old.get(f"{API}/whoami").status_code == 200
    emu.advance(2)
    assert old.get(f"{API}/whoami").status_code == 401

    key2, old2 = new_key()
    leaked = client.post(f"{API}/keys/suspected_compromise/{key2['key_id']}", json={"confirmed_leak": True}).json()
    assert old2.get(f"{API}/whoami").status_code == 401
    assert client.get(f"{API}/whoami", headers=auth(leaked["key_secret"])).status_code == 200

    key3, old3 = new_key()
    revoked = client.post(f"{API}/keys/suspected_compromise/{key3['key_id']}",
                          json={"confirmed_leak": True, "auto_rotate": False}).json()
    assert revoked["status"] == "revoked" and old3.get(f"{API}/whoami").status_code == 401


def test_deleting_a_project_revokes_its_keys_but_not_the_callers(client, new_key):
    project = client.post(f"{API}/projects/create", json={"name": "doomed"}).json()
    _, key_client = new_key(project_id=project["id"])
    assert client.delete(f"{API}/projects/delete/{project['id']}").json() == {"deleted": True}
    assert key_client.get(f"{API}/whoami").status_code == 401
    mine = client.get(f"{API}/whoami").json()["caller"]["project_id"]
    assert error_of(client.delete(f"{API}/projects/delete/{mine}"))["code"] == "CONFLICT"
