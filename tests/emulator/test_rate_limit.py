"""Per-project rate_limit_rpm: fixed one-minute windows on the emulator clock."""

from __future__ import annotations

from .conftest import API, error_of


def test_rate_limit_429_with_retry_after_then_window_resets(client, new_key, emu):
    emu.set_now("2026-03-01T10:00:00Z")
    project = client.post(f"{API}/projects/create", json={"name": "limited"}).json()
    client.patch(f"{API}/projects/update/{project['id']}", json={"rate_limit_rpm": 3})
    _, limited = new_key(project_id=project["id"])
    emu.advance(20)
    assert [limited.get(f"{API}/balance").status_code for _ in range(3)] == [200, 200, 200]
    response = limited.get(f"{API}/balance")
    assert response.status_code == 429 and error_of(response)["code"] == "RATE_LIMITED"
    assert response.headers["Retry-After"] == "40"
    assert client.get(f"{API}/balance").status_code == 200  # another project's key is not limited
    emu.advance(40)
    assert limited.get(f"{API}/balance").status_code == 200


def test_lifting_the_limit(client, new_key):
    project = client.post(f"{API}/projects/create", json={"name": "lift"}).json()
    client.patch(f"{API}/projects/update/{project['id']}", json={"rate_limit_rpm": 1})
    _, limited = new_key(project_id=project["id"])
    assert limited.get(f"{API}/balance").status_code == 200
    assert limited.get(f"{API}/balance").status_code == 429
    client.patch(f"{API}/projects/update/{project['id']}", json={"rate_limit_rpm": None})
    assert limited.get(f"{API}/balance").status_code == 200
