"""Money: balance, top-up, transactions, invoices, budget, auto-recharge, payment methods,
subscription, tier, wallet restore and usage (summary, timeseries, forecast, export).

`record_usage` is the billing engine behind `POST /_emulator/usage`: budget hard cap, then
wallet (after trying auto-recharge within its caps), then the ledger. Money is held in
integer micro-dollars so sums are exact.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from . import validation as v
from .clock import iso, month_label, month_start, next_month_start, period_bounds
from .context import Ctx, EmulatorState, Outcome, capability, get_by_id, paged_list
from .errors import ApiError, conflict, not_found
from .routes_webhooks import emit_event
from .store import MICRO, Store, dumps, new_id, to_micro, usd

TIERS = ("standard", "pro", "team", "enterprise")
GIB = 1 << 30
TIER_LIMITS: dict[str, dict[str, int]] = {
    "standard": {"requests_per_minute": 60, "projects": 5, "keys_per_project": 10, "webhooks": 5,
                 "members": 3, "bandwidth_bytes": 10 * GIB},
    "pro": {"requests_per_minute": 600, "projects": 50, "keys_per_project": 50, "webhooks": 20,
            "members": 10, "bandwidth_bytes": 100 * GIB},
    "team": {"requests_per_minute": 3000, "projects": 200, "keys_per_project": 200, "webhooks": 50,
             "members": 50, "bandwidth_bytes": 1024 * GIB},
    "enterprise": {"requests_per_minute": 10000, "projects": 1000, "keys_per_project": 1000, "webhooks": 100,
                   "members": 500, "bandwidth_bytes": 10240 * GIB},
}
WALLET_RESTORE_WINDOW = 30 * 86400
BALANCE_LOW_MICRO = 1 * MICRO
TEST_CHARGE_MICRO = 1 * MICRO


# -- shared views -----------------------------------------------------------------------
def apply_due_changes(store: Store, now: float) -> dict:
    """Apply a scheduled downgrade or period-end cancellation whose time has come."""
    account = store.account()
    pending = store.doc("tier_pending")
    subscription = store.doc("subscription")
    changed = False
    if pending.get("pending_tier") and pending["pending_effective_at_epoch"] <= now:
        account["tier"] = pending["pending_tier"]
        pending = {"pending_tier": None, "pending_effective_at": None}
        changed = True
    if subscription.get("cancel_at_period_end") and subscription.get("cancel_effective_at", 0) <= now:
        subscription.update(status="canceled", cancel_at_period_end=False)
        account["tier"] = "standard"
        changed = True
    if changed:
        with store.tx():
            store.set_doc("account", account)
            store.set_doc("tier_pending", pending)
            store.set_doc("subscription", subscription)
    return account


def account_summary(store: Store, now: float) -> dict:
    account = apply_due_changes(store, now)
    return {"account_id": account["account_id"], "kind": account["kind"], "status": account["status"],
            "tier": account["tier"], "balance_usd": usd(account["balance_micro"])}


def tier_info(store: Store, now: float) -> dict:
    account = apply_due_changes(store, now)
    pending = store.doc("tier_pending")
    return {"tier": account["tier"], "limits": TIER_LIMITS[account["tier"]], "billing_period": "monthly",
            "pending_tier": pending.get("pending_tier"), "pending_effective_at": pending.get("pending_effective_at")}


def subscription_info(store: Store, now: float) -> dict:
    account = apply_due_changes(store, now)
    subscription = store.doc("subscription")
    return {"status": subscription["status"], "tier": account["tier"],
            "current_period_end": iso(next_month_start(now)),
            "cancel_at_period_end": bool(subscription.get("cancel_at_period_end"))}


def _payment_method(store: Store, pm_id: str | None) -> dict:
    """The given payment method, or the default one; 404 if it does not exist."""
    if pm_id is None:
        for method in store.all("pm"):
            if method["is_default"]:
                return method
        raise not_found("payment method", "default")
    method = store.get("pm", pm_id)
    if method is None:
        raise not_found("payment method", pm_id)
    return method


def _record_payment_failure(store: Store, method: dict, amount_micro: int, reason: str, source: str,
                            now: float) -> dict:
    failure = {"id": new_id("pf"), "payment_method_id": method["id"], "amount_usd": usd(amount_micro),
               "reason": reason, "source": source, "created_at": iso(now)}
    store.insert("pf", failure["id"], failure)
    return failure


def _charge(store: Store, method: dict) -> bool:
    return not store.get_extra(method["id"]).get("failing", False)


# -- balance, top-up, ledgers ------------------------------------------------------------
async def balance(ctx: Ctx) -> Outcome:
    return 200, {"balance_usd": usd(ctx.store.balance_micro()), "currency": "USD"}


async def topup(ctx: Ctx) -> Outcome:
    params = ctx.params
    if "amount_usd" not in params and "amount" in params:  # the seed example's spelling
        params = {**params, "amount_usd": params["amount"]}
    amount = v.number(params, "amount_usd", required=True, minimum=1, maximum=10000, max_decimals=2)
    return_url = v.string(params, "return_url", max_len=2048)
    topup_id = new_id("top")
    base = str(ctx.request.base_url).rstrip("/")
    record = {"topup_id": topup_id, "amount_usd": amount, "state": "requires_action",
              "next_action_url": f"{base}/_emulator/checkout/{topup_id}", "return_url": return_url,
              "created_at": iso(ctx.now)}
    ctx.store.insert("topup", topup_id, record)
    return 200, record


async def complete_topup(emu: EmulatorState, topup_id: str) -> dict:
    """The emulator's checkout page was 'paid': credit the wallet once."""
    store = emu.store
    record = store.get("topup", topup_id)
    if record is None:
        raise not_found("top-up", topup_id)
    if record["state"] == "succeeded":
        return record
    with store.tx():
        record.update(state="succeeded", next_action_url=None)
        store.update(topup_id, record)
        store.add_transaction("topup", to_micro(record["amount_usd"]), f"Top-up {topup_id}")
    await emit_event(emu, "topup.succeeded", {"topup_id": topup_id, "amount_usd": record["amount_usd"]})
    return record


# -- budget -----------------------------------------------------------------------------
async def budget_get(ctx: Ctx) -> Outcome:
    return 200, ctx.store.doc("budget")


async def budget_set(ctx: Ctx) -> Outcome:
    # A PUT: omitted optional fields become null.
    budget = {
        "period": v.enum(ctx.params, "period", ("daily", "monthly"), required=True),
        "hard_cap_usd": v.number(ctx.params, "hard_cap_usd", minimum=0, maximum=1e9, max_decimals=2),
        "alert_threshold_usd": v.number(ctx.params, "alert_threshold_usd", minimum=0, maximum=1e9, max_decimals=2),
    }
    ctx.store.set_doc("budget", budget)
    return 200, budget


# -- auto-recharge ----------------------------------------------------------------------
def _autorecharge_view(config: dict) -> dict:
    return {k: config[k] for k in ("enabled", "trigger_balance", "recharge_amount", "payment_method_id",
                                   "max_per_day", "max_per_month")}


async def autorecharge_get(ctx: Ctx) -> Outcome:
    return 200, _autorecharge_view(ctx.store.doc("autorecharge"))


async def autorecharge_configure(ctx: Ctx) -> Outcome:
    p = ctx.params
    config = {
        "enabled": v.boolean(p, "enabled", default=True),
        "trigger_balance": v.number(p, "trigger_balance", required=True, minimum=0, maximum=100000, max_decimals=2),
        "recharge_amount": v.number(p, "recharge_amount", required=True, minimum=5, maximum=10000, max_decimals=2),
        "payment_method_id": v.string(p, "payment_method_id", min_len=1, max_len=64),
        "max_per_day": v.number(p, "max_per_day", integer=True, minimum=1, maximum=100, default=3),
        "max_per_month": v.number(p, "max_per_month", integer=True, minimum=1, maximum=100, default=20),
    }
    if config["payment_method_id"] is not None:
        _payment_method(ctx.store, config["payment_method_id"])
    ctx.store.set_doc("autorecharge", config)
    return 200, config


async def autorecharge_test_charge(ctx: Ctx) -> Outcome:
    config = ctx.store.doc("autorecharge")
    method = _payment_method(ctx.store, config.get("payment_method_id"))
    if _charge(ctx.store, method):
        # A $1 authorisation, voided at once: the wallet is not credited.
        return 200, {"ok": True, "charged_usd": usd(TEST_CHARGE_MICRO), "failure_reason": None,
                     "payment_method_id": method["id"]}
    _record_payment_failure(ctx.store, method, TEST_CHARGE_MICRO, "card_declined", "test_charge", ctx.now)
    return 200, {"ok": False, "charged_usd": None, "failure_reason": "card_declined",
                 "payment_method_id": method["id"]}


def _count_autorecharges(store: Store, since: float) -> int:
    row = store.conn.execute(
        "SELECT COUNT(*) FROM objects WHERE kind = 'txn' AND state = 'autorecharge' "
        "AND json_extract(body, '$.created_at') >= ?", (iso(since),)).fetchone()
    return int(row[0])


async def _try_autorecharge(emu: EmulatorState, now: float) -> bool:
    """One auto-recharge attempt within the daily/monthly caps; True if the wallet was credited."""
    store = emu.store
    config = store.doc("autorecharge")
    if not config.get("enabled"):
        return False
    if (_count_autorecharges(store, now - now % 86400) >= config["max_per_day"]
            or _count_autorecharges(store, month_start(now)) >= config["max_per_month"]):
        return False
    try:
        method = _payment_method(store, config.get("payment_method_id"))
    except ApiError:
        return False
    amount = to_micro(config["recharge_amount"])
    if not _charge(store, method):
        _record_payment_failure(store, method, amount, "card_declined", "autorecharge", now)
        await emit_event(emu, "autorecharge.failed", {"payment_method_id": method["id"], "amount_usd": usd(amount)})
        return False
    store.add_transaction("autorecharge", amount, f"Auto-recharge via {method['id']}", ts=now)
    await emit_event(emu, "autorecharge.succeeded", {"amount_usd": usd(amount)})
    return True


async def record_usage(emu: EmulatorState, *, capability_name: str, requests: int, spend_micro: int,
                       project_id: str | None, ingress_bytes: int, egress_bytes: int, ts: float) -> dict:
    """A billable gateway call: hard cap, wallet (with auto-recharge), then the ledger."""
    store = emu.store
    now = emu.clock.now()
    budget = store.doc("budget")
    start, end = period_bounds(ts, budget["period"])
    spent = int(store.conn.execute("SELECT COALESCE(SUM(spend_micro), 0) FROM usage WHERE ts >= ? AND ts < ?",
                                   (start, end)).fetchone()[0])
    if budget.get("hard_cap_usd") is not None and spent + spend_micro > to_micro(budget["hard_cap_usd"]):
        await emit_event(emu, "budget.exceeded", {"period": budget["period"], "hard_cap_usd": budget["hard_cap_usd"]})
        raise ApiError(402, "BUDGET_EXCEEDED",
                       f"this call would pass the {budget['period']} hard cap of ${budget['hard_cap_usd']}")
    config = store.doc("autorecharge")
    balance_before = store.balance_micro()
    if balance_before - spend_micro < to_micro(config.get("trigger_balance") or 0) or balance_before < spend_micro:
        await _try_autorecharge(emu, now)
    if store.balance_micro() < spend_micro:
        raise ApiError(402, "INSUFFICIENT_CREDIT",
                       f"balance ${usd(store.balance_micro())} cannot cover ${usd(spend_micro)}; top up")
    with store.tx():
        if spend_micro:
            store.add_transaction("usage", -spend_micro, f"{capability_name} × {requests}", ts=now)
        store.conn.execute(
            "INSERT INTO usage (ts, capability, requests, spend_micro, ingress_bytes, egress_bytes, project_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ts, capability_name, requests, spend_micro, ingress_bytes, egress_bytes, project_id),
        )
    threshold = budget.get("alert_threshold_usd")
    if threshold is not None and spent < to_micro(threshold) <= spent + spend_micro:
        await emit_event(emu, "budget.alert", {"period": budget["period"], "alert_threshold_usd": threshold})
    balance_after = store.balance_micro()
    if balance_after < BALANCE_LOW_MICRO <= balance_before:
        await emit_event(emu, "balance.low", {"balance_usd": usd(balance_after)})
    return {"capability": capability_name, "requests": requests, "spend_usd": usd(spend_micro),
            "balance_usd": usd(balance_after), "ts": iso(ts), "project_id": project_id}


# -- payment methods --------------------------------------------------------------------
async def payment_method_list(ctx: Ctx) -> Outcome:
    methods = ctx.store.all("pm")
    default = next((m["id"] for m in methods if m["is_default"]), None)
    return 200, {"items": methods, "default_id": default}


async def payment_method_set_default(ctx: Ctx) -> Outcome:
    pm_id = v.string(ctx.params, "payment_method_id", required=True, min_len=1, max_len=64)
    chosen = _payment_method(ctx.store, pm_id)
    with ctx.store.tx():
        for method in ctx.store.all("pm"):
            is_default = method["id"] == chosen["id"]
            if method["is_default"] != is_default:
                method["is_default"] = is_default
                ctx.store.update(method["id"], method)
    chosen["is_default"] = True
    return 200, chosen


# -- subscription and tier --------------------------------------------------------------
async def subscription_get(ctx: Ctx) -> Outcome:
    return 200, subscription_info(ctx.store, ctx.now)


async def subscription_cancel(ctx: Ctx) -> Outcome:
    at_period_end = v.boolean(ctx.params, "at_period_end", default=True)
    reason = v.string(ctx.params, "reason", max_len=1024)
    account = apply_due_changes(ctx.store, ctx.now)
    subscription = ctx.store.doc("subscription")
    if account["tier"] == "standard" or subscription["status"] == "canceled":
        raise conflict("there is no paid subscription to cancel (the standard tier is pay-as-you-go)")
    with ctx.store.tx():
        subscription["cancel_reason"] = reason
        if at_period_end:
            subscription.update(cancel_at_period_end=True, cancel_effective_at=next_month_start(ctx.now))
        else:
            subscription.update(status="canceled", cancel_at_period_end=False)
            account["tier"] = "standard"
            ctx.store.set_doc("account", account)
        ctx.store.set_doc("subscription", subscription)
    await emit_event(ctx.emu, "subscription.updated", {"status": subscription["status"]})
    return 200, subscription_info(ctx.store, ctx.now)


async def subscription_retry_payment(ctx: Ctx) -> Outcome:
    pm_id = v.string(ctx.params, "payment_method_id", min_len=1, max_len=64)
    method = _payment_method(ctx.store, pm_id)
    subscription = ctx.store.doc("subscription")
    if subscription["status"] != "past_due":
        raise conflict(f"the subscription is {subscription['status']}, not past_due: nothing to retry")
    if not _charge(ctx.store, method):
        _record_payment_failure(ctx.store, method, 0, "card_declined", "subscription", ctx.now)
        raise ApiError(402, "PAYMENT_FAILED", f"payment method {method['id']} was declined", "payment_method_id")
    subscription["status"] = "active"
    ctx.store.set_doc("subscription", subscription)
    await emit_event(ctx.emu, "subscription.updated", {"status": "active"})
    return 200, subscription_info(ctx.store, ctx.now)


async def tier_get(ctx: Ctx) -> Outcome:
    return 200, tier_info(ctx.store, ctx.now)


async def tier_upgrade(ctx: Ctx) -> Outcome:
    params = ctx.params
    if "target_tier" not in params and "target" in params:  # the seed example's spelling
        params = {**params, "target_tier": params["target"]}
    target = v.enum(params, "target_tier", TIERS, required=True)
    account = apply_due_changes(ctx.store, ctx.now)
    if TIERS.index(target) <= TIERS.index(account["tier"]):
        raise conflict(f"cannot upgrade from {account['tier']} to {target}: not a higher tier", "target_tier")
    with ctx.store.tx():
        account["tier"] = target
        ctx.store.set_doc("account", account)
        ctx.store.set_doc("tier_pending", {"pending_tier": None, "pending_effective_at": None})
        subscription = ctx.store.doc("subscription")
        subscription.update(status="active", cancel_at_period_end=False)
        ctx.store.set_doc("subscription", subscription)
    await emit_event(ctx.emu, "tier.changed", {"tier": target})
    return 200, {**account_summary(ctx.store, ctx.now), "checkout_url": None}


async def tier_downgrade(ctx: Ctx) -> Outcome:
    target = v.enum(ctx.params, "target", ("standard", "pro"), required=True)
    immediate = v.boolean(ctx.params, "immediate", default=False)
    v.string(ctx.params, "reason", max_len=1024)
    account = apply_due_changes(ctx.store, ctx.now)
    if TIERS.index(target) >= TIERS.index(account["tier"]):
        raise conflict(f"cannot downgrade from {account['tier']} to {target}: not a lower tier", "target")
    with ctx.store.tx():
        if immediate:
            account["tier"] = target
            ctx.store.set_doc("account", account)
            ctx.store.set_doc("tier_pending", {"pending_tier": None, "pending_effective_at": None})
        else:
            effective = next_month_start(ctx.now)
            ctx.store.set_doc("tier_pending", {"pending_tier": target, "pending_effective_at": iso(effective),
                                               "pending_effective_at_epoch": effective})
    if immediate:
        await emit_event(ctx.emu, "tier.changed", {"tier": target})
    return 200, tier_info(ctx.store, ctx.now)


# -- wallet restore ---------------------------------------------------------------------
def forfeit_wallet(store: Store, now: float) -> dict:
    """What the service does to an inactive wallet: the balance is forfeited (restorable 30 days)."""
    with store.tx():
        amount = store.balance_micro()
        wallet = store.doc("wallet")
        wallet.update(forfeited_micro=int(wallet.get("forfeited_micro", 0)) + amount, forfeited_at=now)
        store.set_doc("wallet", wallet)
        if amount:
            store.add_transaction("forfeit", -amount, "Inactive wallet balance forfeited", ts=now)
    return {"forfeited_usd": usd(amount), "balance_usd": usd(store.balance_micro())}


async def wallet_restore(ctx: Ctx) -> Outcome:
    wallet = ctx.store.doc("wallet")
    amount = int(wallet.get("forfeited_micro", 0))
    restorable = amount > 0 and ctx.now - wallet.get("forfeited_at", 0) <= WALLET_RESTORE_WINDOW
    with ctx.store.tx():
        if restorable:
            ctx.store.add_transaction("restore", amount, "Forfeited balance restored")
        if amount:
            wallet.update(forfeited_micro=0, forfeited_at=None)  # past the window it is gone for good
            ctx.store.set_doc("wallet", wallet)
    return 200, {"account_id": ctx.store.account_id, "restored": restorable,
                 "restored_usd": usd(amount if restorable else 0), "balance_usd": usd(ctx.store.balance_micro())}


# -- usage ------------------------------------------------------------------------------
async def usage_summary(ctx: Ctx) -> Outcome:
    start, end = period_bounds(ctx.now, "monthly")
    rows = ctx.store.conn.execute(
        "SELECT capability, SUM(requests), SUM(spend_micro) FROM usage WHERE ts >= ? AND ts < ? "
        "GROUP BY capability ORDER BY capability", (start, end)).fetchall()
    by_capability = {name: {"requests": int(requests), "spend_usd": usd(int(spend))} for name, requests, spend in rows}
    return 200, {"period": month_label(ctx.now), "period_start": iso(start), "period_end": iso(end),
                 "spend_usd": usd(sum(int(r[2]) for r in rows)), "requests": sum(int(r[1]) for r in rows),
                 "by_capability": by_capability}


def _bucket(ts: float, granularity: str) -> float:
    if granularity == "hour":
        return float(int(ts // 3600) * 3600)
    if granularity == "day":
        return float(int(ts // 86400) * 86400)
    return month_start(ts)


def _next_bucket(ts: float, granularity: str) -> float:
    return ts + 3600 if granularity == "hour" else ts + 86400 if granularity == "day" else next_month_start(ts)


MAX_POINTS = 10000


def _range(ctx: Ctx) -> tuple[float, float]:
    start = v.timestamp(ctx.params, "start")
    end = v.timestamp(ctx.params, "end")
    start = month_start(ctx.now) if start is None else start
    end = ctx.now if end is None else end
    if end < start:
        raise v.validation_error("end", "end is before start")
    return start, end


async def usage_timeseries(ctx: Ctx) -> Outcome:
    granularity = v.enum(ctx.params, "granularity", ("hour", "day", "month"), default="day")
    start, end = _range(ctx)
    first = _bucket(start, granularity)
    step = {"hour": 3600, "day": 86400, "month": 28 * 86400}[granularity]
    if (end - first) / step > MAX_POINTS:
        raise v.validation_error("start", f"the range holds more than {MAX_POINTS} {granularity} buckets")
    totals: dict[float, list[int]] = {}
    for ts, requests, spend in ctx.store.conn.execute(
            "SELECT ts, requests, spend_micro FROM usage WHERE ts >= ? AND ts <= ?", (first, end)):
        bucket = totals.setdefault(_bucket(ts, granularity), [0, 0])
        bucket[0] += requests
        bucket[1] += spend
    points = []
    cursor = first
    while cursor <= end:
        requests, spend = totals.get(cursor, (0, 0))
        points.append({"ts": iso(cursor), "spend_usd": usd(spend), "requests": requests})
        cursor = _next_bucket(cursor, granularity)
    return 200, {"granularity": granularity, "points": points}


async def usage_forecast(ctx: Ctx) -> Outcome:
    start, end = period_bounds(ctx.now, "monthly")
    spent = int(ctx.store.conn.execute("SELECT COALESCE(SUM(spend_micro), 0) FROM usage WHERE ts >= ? AND ts < ?",
                                       (start, end)).fetchone()[0])
    elapsed = max(ctx.now - start, 1.0) / (end - start)
    projected = spent / elapsed
    # Linear projection; the later in the period, the more it is worth (never certain).
    confidence = round(min(0.95, elapsed), 2) if spent else 0.0
    return 200, {"period": month_label(ctx.now), "spend_to_date_usd": usd(spent),
                 "projected_spend_usd": usd(int(projected)), "confidence": confidence}


async def usage_export(ctx: Ctx) -> Outcome:
    fmt = v.enum(ctx.params, "format", ("csv", "json"), default="csv")
    start, end = _range(ctx)
    rows = ctx.store.conn.execute(
        "SELECT ts, capability, requests, spend_micro, ingress_bytes, egress_bytes, project_id FROM usage "
        "WHERE ts >= ? AND ts <= ? ORDER BY seq", (start, end)).fetchall()
    records = [{"ts": iso(r[0]), "capability": r[1], "requests": r[2], "spend_usd": usd(r[3]),
                "ingress_bytes": r[4], "egress_bytes": r[5], "project_id": r[6]} for r in rows]
    if fmt == "json":
        content = dumps(records)
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["ts", "capability", "requests", "spend_usd", "ingress_bytes",
                                                 "egress_bytes", "project_id"])
        writer.writeheader()
        writer.writerows(records)
        content = out.getvalue()
    export_id = new_id("exp")
    base = str(ctx.request.base_url).rstrip("/")
    record: dict[str, Any] = {"export_id": export_id, "status": "completed", "format": fmt,
                              "download_url": f"{base}/_emulator/exports/{export_id}", "rows": len(records),
                              "created_at": iso(ctx.now)}
    ctx.store.insert("export", export_id, record, extra={"content": content, "format": fmt})
    return 200, record


P = "/v1/account"
B = "billing:write"
CAPABILITIES = (
    capability("account.balance", "GET", f"{P}/balance", balance),
    capability("account.topup", "POST", f"{P}/topup", topup, B),
    capability("account.transactions.list", "GET", f"{P}/transactions/list", paged_list("txn")),
    capability("account.invoices.list", "GET", f"{P}/invoices/list", paged_list("invoice")),
    capability("account.invoices.get", "GET", f"{P}/invoices/get/{{id}}", get_by_id("invoice", "invoice"), id_field="invoice_id"),
    capability("account.budget.get", "GET", f"{P}/budget/get", budget_get),
    capability("account.budget.set", "PUT", f"{P}/budget/set", budget_set, B),
    capability("account.autorecharge.get", "GET", f"{P}/autorecharge/get", autorecharge_get),
    capability("account.autorecharge.configure", "PUT", f"{P}/autorecharge/configure", autorecharge_configure, B),
    capability("account.autorecharge.test_charge", "POST", f"{P}/autorecharge/test_charge",
               autorecharge_test_charge, B),
    capability("account.autorecharge.payment_failures.list", "GET", f"{P}/autorecharge/payment_failures/list",
               paged_list("pf")),
    capability("account.payment_method.list", "GET", f"{P}/payment_method/list", payment_method_list),
    capability("account.payment_method.set_default", "POST", f"{P}/payment_method/set_default",
               payment_method_set_default, B),
    capability("account.subscription.get", "GET", f"{P}/subscription/get", subscription_get),
    capability("account.subscription.cancel", "POST", f"{P}/subscription/cancel", subscription_cancel, B),
    capability("account.subscription.retry_payment", "POST", f"{P}/subscription/retry_payment",
               subscription_retry_payment, B),
    capability("account.tier", "GET", f"{P}/tier", tier_get),
    capability("account.tier.upgrade", "POST", f"{P}/tier/upgrade", tier_upgrade, B),
    capability("account.tier.downgrade", "POST", f"{P}/tier/downgrade", tier_downgrade, B),
    capability("account.wallet.restore", "POST", f"{P}/wallet/restore", wallet_restore, B),
    capability("account.usage", "GET", f"{P}/usage", usage_summary),
    capability("account.usage.timeseries", "GET", f"{P}/usage/timeseries", usage_timeseries),
    capability("account.usage.forecast", "GET", f"{P}/usage/forecast", usage_forecast),
    capability("account.usage.export", "POST", f"{P}/usage/export", usage_export, B),
)
