"""Usage: `record_usage`, the billing engine behind `POST /_emulator/usage` (budget hard
cap, then wallet after trying auto-recharge within its caps, then the ledger), and the
usage reads (summary, timeseries, forecast, export). Money is held in integer micro-dollars
so sums are exact.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from . import validation as v
from .clock import iso, month_label, month_start, next_month_start, period_bounds
from .context import Ctx, EmulatorState, Outcome
from .errors import ApiError, validation_error
from .routes_payments import try_autorecharge
from .routes_webhooks import emit_event
from .store import MICRO, dumps, new_id, to_micro, usd


BALANCE_LOW_MICRO = 1 * MICRO



async def record_usage(emu: EmulatorState, *, capability_name: str, requests: int, spend_micro: int,
                       project_id: str | None, ingress_bytes: int, egress_bytes: int, ts: float) -> dict[str, Any]:
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
        await try_autorecharge(emu, now)
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
        raise validation_error("end", "end is before start")
    return start, end



async def usage_timeseries(ctx: Ctx) -> Outcome:
    granularity = v.enum(ctx.params, "granularity", ("hour", "day", "month"), default="day")
    start, end = _range(ctx)
    first = _bucket(start, granularity)
    step = {"hour": 3600, "day": 86400, "month": 28 * 86400}[granularity]
    if (end - first) / step > MAX_POINTS:
        raise validation_error("start", f"the range holds more than {MAX_POINTS} {granularity} buckets")
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
