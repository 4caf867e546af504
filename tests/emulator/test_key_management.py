"""`keys:write` within the caller's own power (contract: "Key management").

A key that is not account-wide manages keys of its own project only, never gives a key more
than it holds, and never rotates, revokes, flags or changes a stronger key; with
`projects:write` it cannot widen a project or touch a project holding a stronger key.
"""

from __future__ import annotations

from .conftest import API, error_of

LIMITED = ["account:read", "keys:write"]


def _refused(response, fragment: str) -> None:
    assert response.status_code == 403, response.text
    error = error_of(response)
    assert error["code"] == "INSUFFICIENT_SCOPE" and fragment in error["message"]


def test_a_limited_key_cannot_mint_a_stronger_key(client, new_key):
    _, limited = new_key(scopes=LIMITED)
    _refused(limited.post(f"{API}/keys/create", json={}), "more power")  # empty = the whole module
    _refused(limited.post(f"{API}/keys/create", json={"scopes": ["account:read", "billing:write"]}),
             "billing:write")
    # So the whole module never comes back from it: no project create, no top-up.
    weaker = limited.post(f"{API}/keys/create", json={"name": "reader", "scopes": ["account:read"]})
    assert weaker.status_code == 200
    same = limited.post(f"{API}/keys/create", json={"name": "peer", "scopes": LIMITED})
    assert same.status_code == 200 and same.json()["scopes"] == LIMITED


def test_a_limited_key_stays_in_its_own_project(client, new_key):
    other = client.post(f"{API}/projects/create", json={"name": "other"}).json()
    _, limited = new_key(scopes=LIMITED)
    _refused(limited.post(f"{API}/keys/create", json={"project_id": other["id"], "scopes": ["account:read"]}),
             "own project")
    victim = client.post(f"{API}/keys/create", json={"project_id": other["id"], "scopes": ["account:read"]}).json()
    _refused(limited.post(f"{API}/keys/rotate/{victim['key_id']}", json={}), "own project")
    _refused(limited.delete(f"{API}/keys/revoke/{victim['key_id']}"), "own project")


def test_a_limited_key_cannot_lock_the_owner_out(client, new_key):
    owner = client.get(f"{API}/whoami").json()["caller"]["key_id"]
    _, limited = new_key(scopes=LIMITED)
    _refused(limited.post(f"{API}/keys/rotate/{owner}", json={"grace_hours": 0}), "more power")
    _refused(limited.delete(f"{API}/keys/revoke/{owner}"), "more power")
    _refused(limited.post(f"{API}/keys/suspected_compromise/{owner}", json={"confirmed_leak": True}), "more power")
    _refused(limited.patch(f"{API}/keys/update/{owner}", json={"scopes": ["account:read"]}), "more power")
    assert client.get(f"{API}/whoami").status_code == 200


def test_a_limited_key_cannot_widen_itself_but_manages_weaker_keys(client, new_key):
    me, limited = new_key(scopes=LIMITED)
    _refused(limited.patch(f"{API}/keys/update/{me['key_id']}", json={"scopes": []}), "more power")
    _refused(limited.patch(f"{API}/keys/update/{me['key_id']}", json={"scopes": [*LIMITED, "projects:write"]}),
             "projects:write")
    reader = limited.post(f"{API}/keys/create", json={"scopes": ["account:read"]}).json()
    assert limited.post(f"{API}/keys/rotate/{reader['key_id']}", json={"grace_hours": 0}).status_code == 200
    assert limited.patch(f"{API}/keys/update/{reader['key_id']}", json={"scopes": LIMITED}).status_code == 200
    assert limited.delete(f"{API}/keys/revoke/{reader['key_id']}").status_code == 200


def test_the_owner_key_manages_every_project(client, new_key):
    other = client.post(f"{API}/projects/create", json={"name": "any"}).json()
    key = client.post(f"{API}/keys/create", json={"project_id": other["id"]}).json()
    assert client.post(f"{API}/keys/rotate/{key['key_id']}", json={}).status_code == 200
    assert client.delete(f"{API}/keys/revoke/{key['key_id']}").status_code == 200


def test_projects_write_cannot_widen_a_project_or_drop_a_stronger_key(client, new_key):
    scoped = client.post(f"{API}/projects/create",
                         json={"name": "ops", "scopes": ["account:read", "projects:write"]}).json()
    me, ops = new_key(project_id=scoped["id"])  # whole module, bounded by the project's two scopes
    url = f"{API}/projects/update/{scoped['id']}"
    _refused(ops.patch(url, json={"scopes": []}), "empty scopes = the whole module")
    _refused(ops.patch(url, json={"scopes": ["account:read", "projects:write", "keys:write"]}), "keys:write")
    assert ops.get(f"{API}/whoami").status_code == 200
    # The owner's project holds the owner key: neither narrowed nor deleted by this key.
    mine = client.get(f"{API}/whoami").json()["caller"]["project_id"]
    _refused(ops.patch(f"{API}/projects/update/{mine}", json={"scopes": ["account:read"]}), "more power")
    _refused(ops.delete(f"{API}/projects/delete/{mine}"), "more power")
    # A project holding only weaker keys is this key's to delete.
    weak = client.post(f"{API}/projects/create", json={"name": "weak", "scopes": ["account:read"]}).json()
    client.post(f"{API}/keys/create", json={"project_id": weak["id"]})
    assert ops.delete(f"{API}/projects/delete/{weak['id']}").status_code == 200
    assert ops.patch(url, json={"scopes": ["account:read"]}).status_code == 200  # narrowing itself is fine
