"""Money: top-up checkout, ledger, budget hard cap, credit, auto-recharge, tiers, usage."""

from __future__ import annotations

from .conftest import API, error_of


def test_topup_checkout_credits_the_wallet(client, anon):
    assert client.get(f"{API}/balance").json() == {"balance_usd": 2.0, "currency": "USD"}
    topup = client.post(f"{API}/topup", json={"amount": 50, "currency": "USD", "payment_method": "stripe"}).json()
    assert topup["state"] == "requires_action" and topup["amount_usd"] == 50
    assert topup["next_action_url"].endswith(f"/_emulator/checkout/{topup['topup_id']}")
    assert client.get(f"{API}/balance").json()["balance_usd"] == 2.0
    done = anon.post(f"/_emulator/checkout/{topup['topup_id']}/complete").json()
    assert done["state"] == "succeeded"
    anon.post(f"/_emulator/checkout/{topup['topup_id']}/complete")  # completing twice credits once
    assert client.get(f"{API}/balance").json()["balance_usd"] == 52.0
    ledger = client.get(f"{API}/transactions/list").json()["items"]
    assert ledger[-1] | {"id": "", "created_at": ""} == {
        "id": "", "type": "topup", "amount_usd": 50.0, "balance_after_usd": 52.0, "created_at": "",
        "description": f"Top-up {topup['topup_id']}"}


def test_topup_bounds(client):
    for amount in (0, 10001, 1.234, "5"):
        response = client.post(f"{API}/topup", json={"amount_usd": amount})
        assert response.status_code == 400 and error_of(response)["field"] == "amount_usd"


def test_budget_is_a_put_and_hard_cap_blocks_usage(client, emu):
    assert client.get(f"{API}/budget/get").json() == {"period": "monthly", "hard_cap_usd": None,
                                                      "alert_threshold_usd": None}
    client.put(f"{API}/budget/set", json={"period": "daily", "hard_cap_usd": 1, "alert_threshold_usd": 0.5})
    assert client.put(f"{API}/budget/set", json={"period": "daily", "hard_cap_usd": 1}).json() == {
        "period": "daily", "hard_cap_usd": 1, "alert_threshold_usd": None}
    assert emu.usage(spend_usd=0.6).status_code == 200
    response = emu.usage(spend_usd=0.5)
    assert response.status_code == 402 and error_of(response)["code"] == "BUDGET_EXCEEDED"
    assert client.get(f"{API}/balance").json()["balance_usd"] == 1.4
    emu.advance(86400)  # a new daily period
    assert emu.usage(spend_usd=0.5).status_code == 200


def test_insufficient_credit(client, emu):
    response = emu.usage(spend_usd=2.01)
    assert response.status_code == 402 and error_of(response)["code"] == "INSUFFICIENT_CREDIT"
    assert emu.usage(spend_usd=2.0).json()["balance_usd"] == 0.0
    assert client.get(f"{API}/usage").json()["spend_usd"] == 2.0


def test_autorecharge_rescues_then_hits_its_daily_cap(client, emu):
    client.put(f"{API}/autorecharge/configure", json={"trigger_balance": 1, "recharge_amount": 5, "max_per_day": 1})
    assert emu.usage(spend_usd=1.5).json()["balance_usd"] == 5.5
    assert emu.usage(spend_usd=5.5).json()["balance_usd"] == 0.0  # the day's one recharge is used
    assert emu.usage(spend_usd=0.1).status_code == 402
    types = [t["type"] for t in client.get(f"{API}/transactions/list").json()["items"]]
    assert types.count("autorecharge") == 1


def test_failing_payment_method_records_a_failure(client, emu, anon):
    pm = client.get(f"{API}/payment_method/list").json()["default_id"]
    anon.post(f"/_emulator/payment_methods/{pm}", json={"failing": True})
    client.put(f"{API}/autorecharge/configure", json={"trigger_balance": 0, "recharge_amount": 10})
    assert error_of(emu.usage(spend_usd=3))["code"] == "INSUFFICIENT_CREDIT"
    failures = client.get(f"{API}/autorecharge/payment_failures/list").json()["items"]
    assert failures[0]["payment_method_id"] == pm and failures[0]["amount_usd"] == 10
    test = client.post(f"{API}/autorecharge/test_charge", json={}).json()
    assert (test["ok"], test["failure_reason"]) == (False, "card_declined")


def test_autorecharge_validation_and_disable(client):
    response = client.put(f"{API}/autorecharge/configure", json={"trigger_balance": 0, "recharge_amount": 0})
    assert response.status_code == 400 and error_of(response)["field"] == "recharge_amount"
    config = client.put(f"{API}/autorecharge/configure",
                        json={"trigger_balance": 5, "recharge_amount": 20, "enabled": False}).json()
    assert config == {"enabled": False, "trigger_balance": 5, "recharge_amount": 20, "payment_method_id": None,
                      "max_per_day": 3, "max_per_month": 20}
    assert client.get(f"{API}/autorecharge/get").json() == config


def test_tier_upgrade_and_scheduled_downgrade(client, emu):
    emu.set_now("2026-03-10T00:00:00Z")
    upgraded = client.post(f"{API}/tier/upgrade", json={"target": "team"}).json()
    assert upgraded["tier"] == "team" and upgraded["checkout_url"] is None
    assert client.post(f"{API}/tier/upgrade", json={"target_tier": "pro"}).status_code == 409
    info = client.post(f"{API}/tier/downgrade", json={"target": "pro"}).json()
    assert (info["tier"], info["pending_tier"], info["pending_effective_at"]) == ("team", "pro", "2026-04-01T00:00:00Z")
    emu.set_now("2026-04-01T00:00:01Z")
    assert client.get(f"{API}/tier").json()["tier"] == "pro"
    assert client.post(f"{API}/tier/downgrade", json={"target": "enterprise"}).status_code == 400
    now = client.post(f"{API}/tier/downgrade", json={"target": "standard", "immediate": True}).json()
    assert now["tier"] == "standard" and now["limits"]["requests_per_minute"] == 60


def test_subscription_cancel_and_retry(client, anon):
    assert client.post(f"{API}/subscription/cancel", json={}).status_code == 409  # standard: nothing to cancel
    client.post(f"{API}/tier/upgrade", json={"target_tier": "pro"})
    info = client.post(f"{API}/subscription/cancel", json={"reason": "budget"}).json()
    assert info["cancel_at_period_end"] is True and info["status"] == "active"
    assert client.post(f"{API}/subscription/retry_payment", json={}).status_code == 409
    anon.post("/_emulator/subscription", json={"status": "past_due"})
    assert client.post(f"{API}/subscription/retry_payment", json={}).json()["status"] == "active"


def test_wallet_restore_within_window(client, anon, emu):
    assert client.post(f"{API}/wallet/restore", json={}).json()["restored"] is False
    anon.post("/_emulator/wallet/forfeit")
    assert client.get(f"{API}/balance").json()["balance_usd"] == 0.0
    restored = client.post(f"{API}/wallet/restore", json={}).json()
    assert (restored["restored"], restored["balance_usd"]) == (True, 2.0)


def test_usage_views_and_export(client, emu, anon):
    emu.set_now("2026-03-15T12:00:00Z")
    emu.usage(capability="ai.chat", requests=3, spend_usd=0.3, bandwidth_bytes=1000)
    emu.usage(capability="ai.embed", requests=1, spend_usd=0.1, ts="2026-03-14T08:00:00Z")
    usage = client.get(f"{API}/usage").json()
    assert (usage["period"], usage["requests"], usage["spend_usd"]) == ("2026-03", 4, 0.4)
    assert usage["by_capability"]["ai.chat"] == {"requests": 3, "spend_usd": 0.3}
    series = client.get(f"{API}/usage/timeseries", params={"granularity": "day", "start": "2026-03-14"}).json()
    assert [p["requests"] for p in series["points"]] == [1, 3]
    assert client.get(f"{API}/usage/timeseries", params={"start": "yesterday"}).status_code == 400
    forecast = client.get(f"{API}/usage/forecast").json()
    assert forecast["projected_spend_usd"] > 0.4 and 0 < forecast["confidence"] <= 0.95
    export = client.post(f"{API}/usage/export", json={"format": "csv"}).json()
    assert export["status"] == "completed"
    csv_text = anon.get(f"/_emulator/exports/{export['export_id']}").text
    assert csv_text.splitlines()[0].startswith("ts,capability") and len(csv_text.splitlines()) == 3
    quota = client.get(f"{API}/bandwidth/quota").json()
    assert quota["used_bytes"] == 1000 and quota["remaining_bytes"] == quota["limit_bytes"] - 1000


def test_invoices_and_payment_methods(client, anon):
    invoices = client.get(f"{API}/invoices/list").json()["items"]
    assert set(invoices[0]) >= {"id", "period", "total_usd", "status", "line_items", "pdf_url"}
    assert client.get(f"{API}/invoices/get/{invoices[0]['id']}").json() == invoices[0]
    second = anon.post("/_emulator/payment_methods", json={"brand": "mastercard", "last4": "4444"}).json()
    chosen = client.post(f"{API}/payment_method/set_default", json={"payment_method_id": second["id"]}).json()
    assert chosen["is_default"] is True
    listed = client.get(f"{API}/payment_method/list").json()
    assert listed["default_id"] == second["id"] and sum(m["is_default"] for m in listed["items"]) == 1


def test_a_payment_method_can_be_added_with_a_known_id(client, anon):
    added = anon.post("/_emulator/payment_methods", json={"id": "pm_backup", "last4": "1881"})
    assert added.status_code == 200 and added.json()["id"] == "pm_backup"
    again = anon.post("/_emulator/payment_methods", json={"id": "pm_backup"})
    assert again.status_code == 409
    listed = client.get(f"{API}/payment_method/list").json()
    assert [m["last4"] for m in listed["items"] if m["id"] == "pm_backup"] == ["1881"]
    assert listed["default_id"] != "pm_backup"
