"""Members, routing and bandwidth alerts."""

from __future__ import annotations

from .conftest import API, error_of


def test_members_invite_accept_remove(client, anon):
    member = client.post(f"{API}/members/invite", json={"email": "Dev@Example.com", "role": "developer"}).json()
    assert (member["email"], member["status"]) == ("dev@example.com", "invited")
    assert client.post(f"{API}/members/invite", json={"email": "dev@example.COM", "role": "viewer"}).status_code == 409
    assert error_of(client.post(f"{API}/members/invite", json={"email": "...", "role": "admin"}))["field"] == "email"
    assert error_of(client.post(f"{API}/members/invite", json={"email": "a@b.co", "role": "owner"}))["field"] == "role"
    assert anon.post(f"/_emulator/members/{member['member_id']}/accept").json()["status"] == "active"
    assert client.delete(f"{API}/members/remove/{member['member_id']}").json() == {"removed": True}
    assert client.get(f"{API}/members/list").json() == {"items": [], "next_cursor": None}


def test_routing_put_and_test(client):
    assert client.get(f"{API}/routing/get").json() == {"chain_override": None, "failover_policy": "sequential",
                                                       "pinned_vendors": []}
    client.put(f"{API}/routing/set", json={"chain_override": ["groq", "openai"], "pinned_vendors": ["mistral"]})
    assert client.put(f"{API}/routing/set", json={"capability": "ai.chat"}).json()["chain_override"] is None
    client.put(f"{API}/routing/set", json={"pinned_vendors": ["anthropic"]})
    result = client.post(f"{API}/routing/test", json={"capability": "ai.chat"}).json()
    assert result == {"capability": "ai.chat", "resolved_chain": ["anthropic", "openai", "google"],
                      "selected_vendor": "anthropic"}
    assert error_of(client.put(f"{API}/routing/set", json={"pinned_vendors": ["openai", "openai"]}))["field"] == \
        "pinned_vendors[1]"
    assert error_of(client.post(f"{API}/routing/test", json={}))["field"] == "capability"


def test_bandwidth_alerts(client):
    assert error_of(client.post(f"{API}/bandwidth/alerts/configure", json={}))["field"] == "threshold_bytes"
    first = client.post(f"{API}/bandwidth/alerts/configure", json={"threshold_bytes": 10**9}).json()
    second = client.post(f"{API}/bandwidth/alerts/configure", json={"threshold_bytes": 10**9}).json()
    assert first["id"] != second["id"] and first["enabled"] is True
    assert len(client.get(f"{API}/bandwidth/alerts/list").json()["items"]) == 2
    assert client.delete(f"{API}/bandwidth/alerts/delete/{first['id']}").json() == {"deleted": True}
    assert client.delete(f"{API}/bandwidth/alerts/delete/{first['id']}").status_code == 404
