"""Payment methods and auto-recharge: the default method, charges that a method marked
failing declines (each failure recorded), and the auto-recharge attempt `record_usage` makes
within its daily and monthly caps.
"""

from __future__ import annotations

from typing import Any

from . import validation as v
from .clock import iso, month_start
from .context import Ctx, EmulatorState, Outcome
from .errors import ApiError, not_found
from .routes_webhooks import emit_event
from .store import MICRO, Store, new_id, to_micro, usd


TEST_CHARGE_MICRO = 1 * MICRO



def payment_method(store: Store, pm_id: str | None) -> dict[str, Any]:
    """The given payment method, or the default one; 404 if it does not exist."""
    if pm_id is None:
        for method in store.all("pm"):
            if method["is_default"]:
                return method
        raise not_found("payment method", "default")
    chosen = store.get("pm", pm_id)
    if chosen is None:
        raise not_found("payment method", pm_id)
    return chosen



def record_payment_failure(store: Store, method: dict[str, Any], amount_micro: int, reason: str, source: str,
                            now: float) -> dict[str, Any]:
    failure = {"id": new_id("pf"), "payment_method_id": method["id"], "amount_usd": usd(amount_micro),
               "reason": reason, "source": source, "created_at": iso(now)}
    store.insert("pf", failure["id"], failure)
    return failure



def charge_succeeds(store: Store, method: dict[str, Any]) -> bool:
    return not store.get_extra(method["id"]).get("failing", False)



async def payment_method_list(ctx: Ctx) -> Outcome:
    methods = ctx.store.all("pm")
    default = next((m["id"] for m in methods if m["is_default"]), None)
    return 200, {"items": methods, "default_id": default}



async def payment_method_set_default(ctx: Ctx) -> Outcome:
    pm_id = v.string(ctx.params, "payment_method_id", required=True, min_len=1, max_len=64)
    chosen = payment_method(ctx.store, pm_id)
    with ctx.store.tx():
        for method in ctx.store.all("pm"):
            is_default = method["id"] == chosen["id"]
            if method["is_default"] != is_default:
                method["is_default"] = is_default
                ctx.store.update(method["id"], method)
    chosen["is_default"] = True
    return 200, chosen



def _autorecharge_view(config: dict[str, Any]) -> dict[str, Any]:
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
        payment_method(ctx.store, config["payment_method_id"])
    ctx.store.set_doc("autorecharge", config)
    return 200, config



async def autorecharge_test_charge(ctx: Ctx) -> Outcome:
    config = ctx.store.doc("autorecharge")
    method = payment_method(ctx.store, config.get("payment_method_id"))
    if charge_succeeds(ctx.store, method):
        # A $1 authorisation, voided at once: the wallet is not credited.
        return 200, {"ok": True, "charged_usd": usd(TEST_CHARGE_MICRO), "failure_reason": None,
                     "payment_method_id": method["id"]}
    record_payment_failure(ctx.store, method, TEST_CHARGE_MICRO, "card_declined", "test_charge", ctx.now)
    return 200, {"ok": False, "charged_usd": None, "failure_reason": "card_declined",
                 "payment_method_id": method["id"]}



def _count_autorecharges(store: Store, since: float) -> int:
    row = store.conn.execute(
        "SELECT COUNT(*) FROM objects WHERE kind = 'txn' AND state = 'autorecharge' "
        "AND json_extract(body, '$.created_at') >= ?", (iso(since),)).fetchone()
    return int(row[0])



async def try_autorecharge(emu: EmulatorState, now: float) -> bool:
    """One auto-recharge attempt within the daily/monthly caps; True if the wallet was credited."""
    store = emu.store
    config = store.doc("autorecharge")
    if not config.get("enabled"):
        return False
    if (_count_autorecharges(store, now - now % 86400) >= config["max_per_day"]
            or _count_autorecharges(store, month_start(now)) >= config["max_per_month"]):
        return False
    try:
        method = payment_method(store, config.get("payment_method_id"))
    except ApiError:
        return False
    amount = to_micro(config["recharge_amount"])
    if not charge_succeeds(store, method):
        record_payment_failure(store, method, amount, "card_declined", "autorecharge", now)
        await emit_event(emu, "autorecharge.failed", {"payment_method_id": method["id"], "amount_usd": usd(amount)})
        return False
    store.add_transaction("autorecharge", amount, f"Auto-recharge via {method['id']}", ts=now)
    await emit_event(emu, "autorecharge.succeeded", {"amount_usd": usd(amount)})
    return True
