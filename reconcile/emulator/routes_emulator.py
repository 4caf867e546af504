"""Emulator-only routes under `/_emulator/*` (no auth): what a test needs to drive the
world outside the API — complete a checkout, make a billable call, move the clock, inject
faults, accept an invitation, make a webhook receiver fail, fetch an export."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import validation as v
from .clock import parse_iso
from .context import EmulatorState
from .errors import ApiError, conflict, error_response, internal_error_response, not_found, validation_error
from .faults import FaultConfig
from .routes_tier import subscription_info
from .routes_usage import record_usage
from .routes_wallet import complete_topup, forfeit_wallet
from .routes_webhooks import emit_event
from .store import dumps, new_id, to_micro

log = logging.getLogger(__name__)

EmulatorHandler = Callable[[Request, EmulatorState, dict[str, Any]], Awaitable[Any]]


def _json(status: int, body: Any) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _route(path: str, handler: EmulatorHandler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        from .app import read_json_object  # late: app imports this module

        emu: EmulatorState = request.app.state.emulator
        try:
            params = await read_json_object(request) if request.method == "POST" else dict(request.query_params)
            result = await handler(request, emu, params)
            return result if isinstance(result, Response) else _json(200, result)
        except ApiError as error:
            return error_response(error)
        except Exception:
            log.exception("endpoint: unexpected error in %s", path)
            return internal_error_response()

    endpoint.__name__ = "emulator_" + handler.__name__
    return Route(path, endpoint, methods=methods)


async def checkout_get(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    record = emu.store.get("topup", request.path_params["id"])
    if record is None:
        raise not_found("top-up", request.path_params["id"])
    return record


async def checkout_complete(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    return await complete_topup(emu, request.path_params["id"])


async def usage(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    name = v.string(params, "capability", required=True, min_len=1, max_len=128)
    requests = v.number(params, "requests", integer=True, minimum=0, maximum=10**9, default=1)
    spend = v.number(params, "spend_usd", required=True, minimum=0, maximum=1e6)
    project_id = v.string(params, "project_id", min_len=1, max_len=64)
    egress = v.number(params, "bandwidth_bytes", integer=True, minimum=0, maximum=2**53, default=0)
    ingress = v.number(params, "ingress_bytes", integer=True, minimum=0, maximum=2**53, default=0)
    ts = v.timestamp(params, "ts")
    return await record_usage(emu, capability_name=name, requests=requests, spend_micro=to_micro(spend),
                              project_id=project_id, ingress_bytes=ingress, egress_bytes=egress,
                              ts=emu.clock.now() if ts is None else ts)


async def clock(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    if request.method == "POST":
        if "now" in params:
            try:
                emu.clock.set_now(parse_iso(params["now"]))
            except (ValueError, TypeError, OverflowError):
                raise validation_error("now", "now must be an ISO 8601 date-time") from None
        elif "advance_seconds" in params:
            emu.clock.advance(v.number(params, "advance_seconds", minimum=-1e10, maximum=1e10))
        else:
            raise validation_error("now", "give now or advance_seconds")
    return {"now": emu.clock.iso(), "offset_seconds": round(emu.clock.offset, 3)}


async def faults(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    if request.method == "POST":
        try:
            config = FaultConfig.from_dict(params)
        except (ValueError, TypeError, KeyError) as error:
            raise validation_error("faults", f"bad fault config: {error}") from None
        emu.fault_config = config
        if emu.fault_middleware is not None:
            emu.fault_middleware.config = config
    return emu.fault_config.to_dict()


async def member_accept(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    member = emu.store.get("member", request.path_params["id"])
    if member is None:
        raise not_found("member", request.path_params["id"])
    if member["status"] != "active":
        member["status"] = "active"
        emu.store.update(member["member_id"], member, state="active")
        await emit_event(emu, "member.joined", {"member_id": member["member_id"], "email": member["email"]})
    return member


async def webhook_receiver(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    webhook_id = request.path_params["id"]
    if emu.store.get("webhook", webhook_id) is None:
        raise not_found("webhook", webhook_id)
    status = v.number(params, "status_code", required=True, integer=True, minimum=100, maximum=599)
    extra = emu.store.get_extra(webhook_id)
    extra["receiver_status"] = status
    emu.store.conn.execute("UPDATE objects SET extra = ? WHERE id = ?", (dumps(extra), webhook_id))
    return {"webhook_id": webhook_id, "status_code": status}


async def export_download(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    export_id = request.path_params["id"]
    if emu.store.get("export", export_id) is None:
        raise not_found("export", export_id)
    extra = emu.store.get_extra(export_id)
    media = "application/json" if extra.get("format") == "json" else "text/csv"
    return Response(extra.get("content", ""), media_type=media)


async def invoice_pdf(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    invoice = emu.store.get("invoice", request.path_params["id"])
    if invoice is None:
        raise not_found("invoice", request.path_params["id"])
    text = f"Invoice {invoice['id']} {invoice['period']} total ${invoice['total_usd']}"
    return Response(b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n", media_type="application/pdf")


async def payment_method_add(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    brand = v.string(params, "brand", min_len=1, max_len=32, default="visa")
    last4 = v.string(params, "last4", min_len=4, max_len=4, default="4242")
    failing = v.boolean(params, "failing", default=False)
    # A test that declares the method in a config needs to know its id before adding it.
    pm_id = v.string(params, "id", min_len=1, max_len=64, default=None) or new_id("pm")
    if emu.store.get("pm", pm_id) is not None:
        raise conflict(f"payment method {pm_id} already exists", "id")
    method = {"id": pm_id, "brand": brand, "last4": last4, "is_default": False}
    emu.store.insert("pm", method["id"], method, extra={"failing": failing})
    return {**method, "failing": failing}


async def payment_method_failing(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    method = emu.store.get("pm", request.path_params["id"])
    if method is None:
        raise not_found("payment method", request.path_params["id"])
    failing = v.boolean(params, "failing", default=True)
    emu.store.conn.execute("UPDATE objects SET extra = ? WHERE id = ?", (dumps({"failing": failing}), method["id"]))
    return {**method, "failing": failing}


async def subscription_state(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    status = v.enum(params, "status", ("active", "past_due", "canceled"), required=True)
    subscription = emu.store.doc("subscription")
    subscription["status"] = status
    emu.store.set_doc("subscription", subscription)
    return subscription_info(emu.store, emu.clock.now())


async def wallet_forfeit(request: Request, emu: EmulatorState, params: dict[str, Any]) -> Any:
    return forfeit_wallet(emu.store, emu.clock.now())


ROUTES = [
    _route("/_emulator/checkout/{id}", checkout_get, ["GET"]),
    _route("/_emulator/checkout/{id}/complete", checkout_complete, ["POST"]),
    _route("/_emulator/usage", usage, ["POST"]),
    _route("/_emulator/clock", clock, ["GET", "POST"]),
    _route("/_emulator/faults", faults, ["GET", "POST"]),
    _route("/_emulator/members/{id}/accept", member_accept, ["POST"]),
    _route("/_emulator/webhooks/{id}/receiver", webhook_receiver, ["POST"]),
    _route("/_emulator/exports/{id}", export_download, ["GET"]),
    _route("/_emulator/invoices/{id}.pdf", invoice_pdf, ["GET"]),
    _route("/_emulator/payment_methods", payment_method_add, ["POST"]),
    _route("/_emulator/payment_methods/{id}", payment_method_failing, ["POST"]),
    _route("/_emulator/subscription", subscription_state, ["POST"]),
    _route("/_emulator/wallet/forfeit", wallet_forfeit, ["POST"]),
]
