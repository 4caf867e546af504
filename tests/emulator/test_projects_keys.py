"""Projects and keys: shapes, validation, uniqueness, PATCH semantics."""

from __future__ import annotations

from .conftest import API, error_of

PROJECT_FIELDS = {"id", "name", "scopes", "metadata", "rate_limit_rpm", "created_at"}
KEY_FIELDS = {"key_id", "name", "label", "project_id", "scopes", "status", "created_at", "last_rotated_at",
              "grace_expires_at"}


def test_project_has_one_shape_everywhere(client):
    created = client.post(f"{API}/projects/create", json={
        "name": "svc", "scopes": ["keys:write", "account:read", "keys:write"], "metadata": {"team": "core"}}).json()
    assert set(created) == PROJECT_FIELDS and created["id"].startswith("proj_")
    assert created["scopes"] == ["account:read", "keys:write"] and created["rate_limit_rpm"] is None
    fetched = client.get(f"{API}/projects/get/{created['id']}").json()
    updated = client.patch(f"{API}/projects/update/{created['id']}", json={}).json()
    assert fetched == updated == created
    listed = client.get(f"{API}/projects/list").json()["items"]
    assert created in listed


def test_project_validation_and_conflicts(client):
    response = client.post(f"{API}/projects/create", json={"name": "x" * 129})
    assert response.status_code == 400 and error_of(response)["field"] == "name"
    response = client.post(f"{API}/projects/create", json={})
    assert error_of(response) == {"code": "VALIDATION_ERROR", "message": "name is required", "field": "name"}
    response = client.post(f"{API}/projects/create", json={"name": "a", "scopes": ["account:read", "nope"]})
    assert error_of(response)["field"] == "scopes[1]"
    response = client.post(f"{API}/projects/create", json={"name": "default"})
    assert response.status_code == 409 and error_of(response)["code"] == "CONFLICT"
    response = client.post(f"{API}/projects/create", json={"name": "m", "metadata": "no"})
    assert error_of(response)["field"] == "metadata"


def test_project_update_and_path_id_mismatch(client):
    project = client.post(f"{API}/projects/create", json={"name": "a"}).json()
    url = f"{API}/projects/update/{project['id']}"
    updated = client.patch(url, json={"name": "b", "rate_limit_rpm": 100, "metadata": {"k": 1}}).json()
    assert (updated["name"], updated["rate_limit_rpm"], updated["metadata"]) == ("b", 100, {"k": 1})
    response = client.patch(url, json={"project_id": "proj_other"})
    assert response.status_code == 400 and error_of(response)["field"] == "project_id"
    assert client.patch(url, json={"project_id": project["id"], "name": "c"}).json()["name"] == "c"
    assert client.patch(url, json={"rate_limit_rpm": 0}).status_code == 400
    assert error_of(client.get(f"{API}/projects/get/proj_nope"))["code"] == "NOT_FOUND"


def test_key_shape_defaults_and_list_filters(client):
    project = client.post(f"{API}/projects/create", json={"name": "other"}).json()
    key = client.post(f"{API}/keys/create", json={"project_id": project["id"]}).json()
    assert set(key) == KEY_FIELDS | {"key_secret"}
    assert key["name"] == key["label"] == f"key-{key['key_id'][4:10]}" and key["status"] == "active"
    listed = client.get(f"{API}/keys/list").json()["items"]
    assert {k["project_id"] for k in listed} == {project["id"], key["project_id"], listed[0]["project_id"]}
    only = client.get(f"{API}/keys/list", params={"project_id": project["id"]}).json()["items"]
    assert [k["key_id"] for k in only] == [key["key_id"]]
    client.delete(f"{API}/keys/revoke/{key['key_id']}")
    assert client.get(f"{API}/keys/list", params={"project_id": project["id"]}).json()["items"] == []
    revoked = client.get(f"{API}/keys/list", params={"project_id": project["id"], "include_revoked": "true"})
    assert revoked.json()["items"][0]["status"] == "revoked"


def test_key_names_unique_among_active_keys_of_a_project(client):
    first = client.post(f"{API}/keys/create", json={"name": "ci"}).json()
    assert client.post(f"{API}/keys/create", json={"name": "ci"}).status_code == 409
    client.delete(f"{API}/keys/revoke/{first['key_id']}")
    assert client.post(f"{API}/keys/create", json={"name": "ci"}).status_code == 200


def test_key_update_and_revoked_keys_are_immutable(client):
    key = client.post(f"{API}/keys/create", json={"name": "a"}).json()
    url = f"{API}/keys/update/{key['key_id']}"
    updated = client.patch(url, json={"name": "b", "scopes": ["account:read"]}).json()
    assert (updated["name"], updated["label"], updated["scopes"]) == ("b", "b", ["account:read"])
    assert client.patch(url, json={}).json() == updated
    assert error_of(client.patch(url, json={"key_id": "key_x"}))["field"] == "key_id"
    client.delete(f"{API}/keys/revoke/{key['key_id']}")
    assert client.patch(url, json={"name": "c"}).status_code == 409
    assert client.post(f"{API}/keys/rotate/{key['key_id']}", json={}).status_code == 409


def test_unknown_route_and_wrong_method(client):
    response = client.get("/v1/account/nothing")
    assert response.status_code == 404 and error_of(response)["code"] == "NOT_FOUND"
    response = client.get(f"{API}/projects/create")
    assert response.status_code == 405 and error_of(response)["code"] == "METHOD_NOT_ALLOWED"
    response = client.post(f"{API}/projects/create", content=b"[]")
    assert error_of(response)["code"] == "INVALID_JSON"
