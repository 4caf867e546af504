"""Subscription and tier: the account's plan, its limits, scheduled downgrades and
period-end cancellations (applied lazily by `apply_due_changes` whenever the account is read).
"""

from __future__ import annotations

from typing import Any

from . import validation as v
from .clock import iso, next_month_start
from .context import Ctx, Outcome
from .errors import ApiError, conflict
from .routes_payments import charge_succeeds, payment_method, record_payment_failure
from .routes_webhooks import emit_event
from .store import Store, usd


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



def apply_due_changes(store: Store, now: float) -> dict[str, Any]:
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



def account_summary(store: Store, now: float) -> dict[str, Any]:
    account = apply_due_changes(store, now)
    return {"account_id": account["account_id"], "kind": account["kind"], "status": account["status"],
            "tier": account["tier"], "balance_usd": usd(account["balance_micro"])}



def tier_info(store: Store, now: float) -> dict[str, Any]:
    account = apply_due_changes(store, now)
    pending = store.doc("tier_pending")
    return {"tier": account["tier"], "limits": TIER_LIMITS[account["tier"]], "billing_period": "monthly",
            "pending_tier": pending.get("pending_tier"), "pending_effective_at": pending.get("pending_effective_at")}



def subscription_info(store: Store, now: float) -> dict[str, Any]:
    account = apply_due_changes(store, now)
    subscription = store.doc("subscription")
    return {"status": subscription["status"], "tier": account["tier"],
            "current_period_end": iso(next_month_start(now)),
            "cancel_at_period_end": bool(subscription.get("cancel_at_period_end"))}



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
    method = payment_method(ctx.store, pm_id)
    subscription = ctx.store.doc("subscription")
    if subscription["status"] != "past_due":
        raise conflict(f"the subscription is {subscription['status']}, not past_due: nothing to retry")
    if not charge_succeeds(ctx.store, method):
        record_payment_failure(ctx.store, method, 0, "card_declined", "subscription", ctx.now)
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
