"""`keys.list` is documented without pagination: every key in one answer, unless the
`cursor`/`limit` extension is used (docs/emulator.md, Pagination)."""

from __future__ import annotations

from .conftest import API


def test_keys_list_without_limit_returns_every_key_and_with_limit_pages(client):
    for i in range(120):  # more than the default page of 100
        assert client.post(f"{API}/keys/create", json={"name": f"k{i:03d}"}).status_code == 200
    everything = client.get(f"{API}/keys/list").json()
    assert len(everything["items"]) == 121 and everything["next_cursor"] is None
    first = client.get(f"{API}/keys/list", params={"limit": 50}).json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = client.get(f"{API}/keys/list", params={"cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 71 and rest["next_cursor"] is None
