"""Members, routing, bandwidth (quota, usage, alerts) and whoami."""

from __future__ import annotations

import re

from . import validation as v
from .clock import iso, month_label, period_bounds
from .context import Ctx, Outcome, capability, paged_list
from .errors import conflict, not_found, validation_error
from .routes_tier import TIER_LIMITS, account_summary
from .routes_webhooks import emit_event
from .store import new_id

ROLES = ("admin", "developer", "viewer", "billing-ops", "kyc-ops")
VENDORS = ("openai", "anthropic", "google", "mistral", "cohere", "deepseek", "groq", "together",
           "azure-openai", "aws-bedrock")
CAPABILITY_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")
DEFAULT_CHAINS = {
    "ai.chat": ["openai", "anthropic", "google"],
    "ai.embed": ["openai", "cohere", "mistral"],
    "ai.image": ["openai", "google", "together"],
}
FALLBACK_CHAIN = ["openai", "anthropic", "google", "mistral"]
MAX_BANDWIDTH_ALERTS = 100


# -- whoami -----------------------------------------------------------------------------
async def whoami(ctx: Ctx) -> Outcome:
    return 200, {**account_summary(ctx.store, ctx.now),
                 "caller": {"key_id": ctx.caller.key_id, "project_id": ctx.caller.project_id},
                 "server_time": iso(ctx.now)}  # the emulator clock, for time-based policies


# -- members ----------------------------------------------------------------------------
async def members_invite(ctx: Ctx) -> Outcome:
    email = v.email(ctx.params, "email")
    role = v.enum(ctx.params, "role", ROLES, required=True)
    with ctx.store.tx():
        if ctx.store.uniq_taken("member", email):
            raise conflict(f"{email} is already a member or invited", "email")
        member = {"member_id": new_id("mem"), "email": email, "role": role, "status": "invited",
                  "invited_at": iso(ctx.now)}
        ctx.store.insert("member", member["member_id"], member, uniq=email, state="invited")
    await emit_event(ctx.emu, "member.invited", {"member_id": member["member_id"], "email": email, "role": role})
    return 200, member


async def members_remove(ctx: Ctx) -> Outcome:
    member = ctx.store.get("member", ctx.path_id or "")
    if member is None:
        raise not_found("member", ctx.path_id or "")
    ctx.store.delete(member["member_id"])
    return 200, {"removed": True}


# -- routing ----------------------------------------------------------------------------
def _vendors(ctx: Ctx, name: str) -> list[str] | None:
    vendors: list[str] | None = v.string_list(ctx.params, name, choices=VENDORS, unique=True, max_items=len(VENDORS))
    return vendors


async def routing_get(ctx: Ctx) -> Outcome:
    return 200, ctx.store.doc("routing")


async def routing_set(ctx: Ctx) -> Outcome:
    # A PUT: omitted chain_override becomes null, omitted pinned_vendors []; failover is read-only.
    routing = {"chain_override": _vendors(ctx, "chain_override"), "failover_policy": "sequential",
               "pinned_vendors": _vendors(ctx, "pinned_vendors") or []}
    ctx.store.set_doc("routing", routing)
    return 200, routing


async def routing_test(ctx: Ctx) -> Outcome:
    name = v.string(ctx.params, "capability", required=True, min_len=1, max_len=128)
    if not CAPABILITY_RE.match(name):
        raise validation_error("capability", f"capability {name!r} is not a capability id such as 'ai.chat'")
    routing = ctx.store.doc("routing")
    chain = _vendors(ctx, "chain_override") or routing.get("chain_override") or DEFAULT_CHAINS.get(name, FALLBACK_CHAIN)
    pinned = routing.get("pinned_vendors") or []
    resolved = list(pinned) + [vendor for vendor in chain if vendor not in pinned]
    return 200, {"capability": name, "resolved_chain": resolved, "selected_vendor": resolved[0]}


# -- bandwidth --------------------------------------------------------------------------
def _bandwidth_used(ctx: Ctx, start: float, end: float) -> tuple[int, int]:
    row = ctx.store.conn.execute(
        "SELECT COALESCE(SUM(ingress_bytes), 0), COALESCE(SUM(egress_bytes), 0) FROM usage WHERE ts >= ? AND ts < ?",
        (start, end)).fetchone()
    return int(row[0]), int(row[1])


async def bandwidth_quota(ctx: Ctx) -> Outcome:
    start, end = period_bounds(ctx.now, "monthly")
    limit = TIER_LIMITS[account_summary(ctx.store, ctx.now)["tier"]]["bandwidth_bytes"]
    used = sum(_bandwidth_used(ctx, start, end))
    return 200, {"period": month_label(ctx.now), "limit_bytes": limit, "used_bytes": used,
                 "remaining_bytes": max(0, limit - used)}


async def bandwidth_usage(ctx: Ctx) -> Outcome:
    start = v.timestamp(ctx.params, "start")
    end = v.timestamp(ctx.params, "end")
    period_start, _ = period_bounds(ctx.now, "monthly")
    start = period_start if start is None else start
    end = ctx.now + 1 if end is None else end
    if end < start:
        raise validation_error("end", "end is before start")
    ingress, egress = _bandwidth_used(ctx, start, end)
    return 200, {"period": month_label(start), "start": iso(start), "end": iso(end),
                 "ingress_bytes": ingress, "egress_bytes": egress}


async def bandwidth_alerts_configure(ctx: Ctx) -> Outcome:
    threshold = v.number(ctx.params, "threshold_bytes", required=True, integer=True, minimum=1, maximum=2**53)
    enabled = v.boolean(ctx.params, "enabled", default=True)
    with ctx.store.tx():
        if ctx.store.count("bwalert") >= MAX_BANDWIDTH_ALERTS:
            raise conflict(f"at most {MAX_BANDWIDTH_ALERTS} bandwidth alerts per account")
        alert = {"id": new_id("bwa"), "threshold_bytes": threshold, "enabled": enabled, "created_at": iso(ctx.now)}
        ctx.store.insert("bwalert", alert["id"], alert)
    return 200, alert


async def bandwidth_alerts_list(ctx: Ctx) -> Outcome:
    return 200, {"items": ctx.store.all("bwalert")}


async def bandwidth_alerts_delete(ctx: Ctx) -> Outcome:
    if ctx.store.get("bwalert", ctx.path_id or "") is None:
        raise not_found("bandwidth alert", ctx.path_id or "")
    ctx.store.delete(ctx.path_id or "")
    return 200, {"deleted": True}


P = "/v1/account"
CAPABILITIES = (
    capability("account.whoami", "GET", f"{P}/whoami", whoami),
    capability("account.members.invite", "POST", f"{P}/members/invite", members_invite, "members:write"),
    capability("account.members.list", "GET", f"{P}/members/list", paged_list("member")),
    capability("account.members.remove", "DELETE", f"{P}/members/remove/{{id}}", members_remove,
               "members:write", "member_id"),
    capability("account.routing.get", "GET", f"{P}/routing/get", routing_get),
    capability("account.routing.set", "PUT", f"{P}/routing/set", routing_set, "routing:write"),
    capability("account.routing.test", "POST", f"{P}/routing/test", routing_test, "routing:write"),
    capability("account.bandwidth.quota", "GET", f"{P}/bandwidth/quota", bandwidth_quota),
    capability("account.bandwidth.usage", "GET", f"{P}/bandwidth/usage", bandwidth_usage),
    capability("account.bandwidth.alerts.configure", "POST", f"{P}/bandwidth/alerts/configure",
               bandwidth_alerts_configure, "bandwidth:write"),
    capability("account.bandwidth.alerts.list", "GET", f"{P}/bandwidth/alerts/list", bandwidth_alerts_list),
    capability("account.bandwidth.alerts.delete", "DELETE", f"{P}/bandwidth/alerts/delete/{{id}}",
               bandwidth_alerts_delete, "bandwidth:write", "alert_id"),
)
