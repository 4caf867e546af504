"""Webhooks: register/get/list/update/delete/test/retry/replay/deliveries, and
`emit_event`, which the other route modules call when something worth an event happens.

With `webhook_delivery=False` nothing leaves the process: each delivery is recorded as
`simulated`, answered by the webhook's simulated receiver (status 200 unless a test set
another via `/_emulator/webhooks/{id}/receiver`). With `webhook_delivery=True` deliveries
are POSTed by `delivery.deliver`, only to hosts listed in `allow_webhook_hosts`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from . import validation as v
from .clock import iso
from .context import Ctx, EmulatorState, Outcome, capability, paged_list
from .delivery import deliver
from .errors import ApiError, conflict, not_found, validation_error
from .ssrf import UnsafeUrlError, validate_webhook_url
from .store import new_id, random_base62

EVENTS = frozenset({
    "balance.low", "budget.alert", "budget.exceeded", "key.created", "key.rotated", "key.revoked",
    "key.compromised", "topup.succeeded", "topup.failed", "invoice.created", "invoice.paid",
    "autorecharge.succeeded", "autorecharge.failed", "bandwidth.alert", "member.invited", "member.joined",
    "subscription.updated", "tier.changed", "webhook.test",
})
RETRY_POLICIES = ("default", "aggressive")
RESERVED_HEADERS = frozenset({"host", "content-length", "authorization"})
MAX_URL_LENGTH = 2048


# -- validation -------------------------------------------------------------------------
def _url(ctx: Ctx, required: bool) -> str | None:
    url: str | None = v.string(ctx.params, "url", required=required, min_len=1, max_len=MAX_URL_LENGTH)
    if url is None:
        return None
    try:
        validate_webhook_url(url, allow_hosts=ctx.emu.allow_webhook_hosts, resolve_hosts=ctx.emu.resolve_hosts)
    except UnsafeUrlError as error:
        raise ApiError(400, "UNSAFE_URL", str(error) or "unsafe webhook URL", "url") from None
    return url


def _events(ctx: Ctx, required: bool) -> list[str] | None:
    events = v.string_list(ctx.params, "events", required=required, choices=EVENTS, non_empty=True)
    return sorted(set(events)) if events is not None else None


def _headers(ctx: Ctx) -> dict[str, str] | None:
    headers = v.json_object(ctx.params, "headers")
    if headers is None:
        return None
    if len(headers) > 20:
        raise validation_error("headers", "at most 20 headers")
    for name, value in headers.items():
        label = f"headers.{name}"
        if not v.HTTP_TOKEN_RE.match(name) or len(name) > 256:
            raise validation_error(label, f"header name {name!r} is not an HTTP token")
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("webhook-"):
            raise validation_error(label, f"header {name!r} is reserved")
        if not isinstance(value, str) or len(value) > 1024 or any(c in value for c in "\r\n\0"):
            raise validation_error(label, "header values are strings of at most 1024 characters, one line")
    return dict(headers)


def _webhook(ctx: Ctx) -> dict[str, Any]:
    webhook = ctx.store.get("webhook", ctx.path_id or "")
    if webhook is None:
        raise not_found("webhook", ctx.path_id or "")
    return webhook


# -- delivery ---------------------------------------------------------------------------
def _delivery_allowed(emu: EmulatorState, url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host in {h.lower().strip("[]").rstrip(".") for h in emu.allow_webhook_hosts}


async def _send(emu: EmulatorState, webhook: dict[str, Any], event_type: str, payload: dict[str, Any], msg_id: str,
                extra_fields: dict[str, Any]) -> dict[str, Any]:
    """One delivery attempt, recorded as a `delivery` object of the webhook."""
    extra = emu.store.get_extra(webhook["id"])
    timestamp = int(emu.clock.now())
    started = time.monotonic()
    simulated = not emu.webhook_delivery
    status: int | None
    if simulated:
        status = answered = int(extra.get("receiver_status", 200))
        ok = 200 <= answered < 300
        error = None if ok else f"receiver answered {answered}"
    elif not _delivery_allowed(emu, webhook["url"]):
        status, ok, error = None, False, "delivery not allowed"
    else:
        result = await deliver(webhook["url"], emu.store.webhook_secret(extra), event_type, payload,
                               headers=webhook.get("headers") or {}, msg_id=msg_id, timestamp=timestamp)
        status, ok, error = result.status_code, result.ok, result.error
    record = {
        "delivery_id": new_id("dlv"), "webhook_id": webhook["id"], "event_type": event_type,
        "status_code": status, "ok": ok, "error": error, "simulated": simulated,
        "attempt": 1, "replay_of": None, "created_at": iso(emu.clock.now()),
        "duration_ms": int((time.monotonic() - started) * 1000), **extra_fields,
    }
    if emu.store.get("webhook", webhook["id"]) is not None:  # deleted while delivering: keep no record
        emu.store.insert("delivery", record["delivery_id"], record, parent=webhook["id"],
                         state="ok" if ok else "failed",
                         extra={"payload": payload, "msg_id": msg_id, "event_type": event_type})
    return record


async def emit_event(emu: EmulatorState, event_type: str, data: dict[str, Any]) -> None:
    """Deliver `event_type` to every active webhook subscribed to it.

    Simulated deliveries are recorded at once; real ones run in the background so the API
    call that caused the event does not wait on a receiver.
    """
    webhooks = [w for w in emu.store.all_containing("webhook", f'"{event_type}"')
                if w["active"] and event_type in w["events"]]
    for webhook in webhooks:
        msg_id = new_id("msg")
        payload = data  # `deliver` wraps it in the {type, timestamp, data} envelope
        if emu.webhook_delivery:
            task = asyncio.ensure_future(_send(emu, webhook, event_type, payload, msg_id, {}))
            emu.background.add(task)
            task.add_done_callback(emu.background.discard)
        else:
            await _send(emu, webhook, event_type, payload, msg_id, {})


# -- handlers ---------------------------------------------------------------------------
async def webhooks_register(ctx: Ctx) -> Outcome:
    url = _url(ctx, required=True)
    events = _events(ctx, required=True)
    description = v.string(ctx.params, "description", max_len=256, default="")
    secret = v.string(ctx.params, "secret", min_len=8, max_len=256) or "whsec_" + random_base62(32)
    retry_policy = v.enum(ctx.params, "retry_policy", RETRY_POLICIES, default="default")
    headers = _headers(ctx) or {}
    with ctx.store.tx():
        if ctx.store.uniq_taken("webhook", url or ""):
            raise conflict(f"a webhook for {url!r} already exists", "url")
        webhook = {"id": new_id("wh"), "url": url, "events": events, "description": description, "active": True,
                   "retry_policy": retry_policy, "headers": headers, "created_at": iso(ctx.now)}
        ctx.store.insert("webhook", webhook["id"], webhook, uniq=url,
                         extra={"sealed_secret": ctx.store.seal_webhook_secret(secret), "receiver_status": 200})
    return 200, {**webhook, "secret": secret}


async def webhooks_get(ctx: Ctx) -> Outcome:
    return 200, _webhook(ctx)


async def webhooks_update(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    url = _url(ctx, required=False)
    events = _events(ctx, required=False)
    description = v.string(ctx.params, "description", max_len=256)
    active = v.boolean(ctx.params, "active")
    retry_policy = v.enum(ctx.params, "retry_policy", RETRY_POLICIES)
    headers = _headers(ctx)
    with ctx.store.tx():
        if url is not None and url != webhook["url"]:
            if ctx.store.uniq_taken("webhook", url, webhook["id"]):
                raise conflict(f"a webhook for {url!r} already exists", "url")
            webhook["url"] = url
        for name, value in (("events", events), ("description", description), ("active", active),
                            ("retry_policy", retry_policy), ("headers", headers)):
            if value is not None:
                webhook[name] = value
        ctx.store.update(webhook["id"], webhook, uniq=webhook["url"])
    return 200, webhook


async def webhooks_delete(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    with ctx.store.tx():
        ctx.store.conn.execute("DELETE FROM objects WHERE parent = ? AND kind = 'delivery'", (webhook["id"],))
        ctx.store.delete(webhook["id"])
    return 200, {"deleted": True}


async def webhooks_test(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    payload = {"webhook_id": webhook["id"]}
    return 200, await _send(ctx.emu, webhook, "webhook.test", payload, new_id("msg"), {})


def _delivery(ctx: Ctx, webhook_id: str, only_failed: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    delivery_id = v.string(ctx.params, "delivery_id", min_len=1, max_len=64)
    if delivery_id is not None:
        row = ctx.store.conn.execute(
            "SELECT body, extra FROM objects WHERE id = ? AND kind = 'delivery' AND parent = ?",
            (delivery_id, webhook_id),
        ).fetchone()
        if row is None:
            raise not_found("delivery", delivery_id)
    else:
        state_clause = "AND state = 'failed' " if only_failed else ""
        row = ctx.store.conn.execute(
            "SELECT body, extra FROM objects WHERE parent = ? AND kind = 'delivery' "
            f"{state_clause}ORDER BY seq DESC LIMIT 1",
            (webhook_id,),
        ).fetchone()
        if row is None:
            raise not_found("delivery", "latest failed" if only_failed else "latest")
    return json.loads(row[0]), json.loads(row[1] or "{}")


async def webhooks_retry(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    original, extra = _delivery(ctx, webhook["id"], only_failed=True)
    if original["ok"]:
        raise conflict(f"delivery {original['delivery_id']} succeeded; use replay to send it again", "delivery_id")
    # A retry is the same message again: same msg id, so the receiver can de-duplicate.
    record = await _send(ctx.emu, webhook, extra.get("event_type", original["event_type"]), extra.get("payload", {}),
                         extra.get("msg_id", new_id("msg")), {"attempt": original["attempt"] + 1})
    return 200, record


async def webhooks_replay(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    original, extra = _delivery(ctx, webhook["id"], only_failed=False)
    # A replay is a deliberate new message carrying the old payload: a new msg id.
    record = await _send(ctx.emu, webhook, extra.get("event_type", original["event_type"]), extra.get("payload", {}),
                         new_id("msg"), {"replay_of": original["delivery_id"]})
    return 200, record


async def webhooks_deliveries(ctx: Ctx) -> Outcome:
    webhook = _webhook(ctx)
    cursor, limit = v.page_params(ctx.params)
    return 200, ctx.store.page_text("delivery", cursor=cursor, limit=limit, parent=webhook["id"])


P = "/v1/account/webhooks"
W = "webhooks:write"
CAPABILITIES = (
    capability("account.webhooks.register", "POST", f"{P}/register", webhooks_register, W),
    capability("account.webhooks.get", "GET", f"{P}/get/{{id}}", webhooks_get, id_field="webhook_id"),
    capability("account.webhooks.list", "GET", f"{P}/list", paged_list("webhook")),
    capability("account.webhooks.update", "PATCH", f"{P}/update/{{id}}", webhooks_update, W, "webhook_id"),
    capability("account.webhooks.delete", "DELETE", f"{P}/delete/{{id}}", webhooks_delete, W, "webhook_id"),
    capability("account.webhooks.test", "POST", f"{P}/test/{{id}}", webhooks_test, W, "webhook_id"),
    capability("account.webhooks.retry", "POST", f"{P}/retry/{{id}}", webhooks_retry, W, "webhook_id"),
    capability("account.webhooks.replay", "POST", f"{P}/replay/{{id}}", webhooks_replay, W, "webhook_id"),
    capability("account.webhooks.deliveries", "GET", f"{P}/deliveries/{{id}}", webhooks_deliveries,
               id_field="webhook_id"),
)
