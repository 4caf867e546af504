"""The machine-readable plan and apply report (versioned; schemas/plan.schema.json)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..apply.events import ApplyReport
from ..plan import Plan
from .common import list_delta

JSON_FORMAT_VERSION = "1.0"


def plan_document(plan: Plan) -> dict[str, Any]:
    data = plan.to_data()
    # Config-only settings (rotate_after, protect…) that policies check (docs/policy.md);
    # added here, outside to_data(), so the plan fingerprint does not change.
    for change, c in zip(data["changes"], plan.changes):
        change["settings"] = {k: v for k, v in c.meta.items() if isinstance(v, (str, int, float, bool))}
        # A list's elements added and removed, beside its whole before and after.
        for diff, d in zip(change["diffs"], c.diffs):
            delta = list_delta(d)
            if delta is not None:
                diff["added"], diff["removed"] = delta
    # An impact cites the declaration of the change it is about.
    sources = {c["address"]: c["source"] for c in data["changes"]}
    for impact in data["impacts"]:
        impact["source"] = sources.get(impact["address"])
    return {"format_version": JSON_FORMAT_VERSION, "tool_version": __version__, "type": "plan",
            "plan_fingerprint": plan.fingerprint, **{k: v for k, v in data.items() if k != "format_version"}}


def report_document(report: ApplyReport, plan: Plan | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format_version": JSON_FORMAT_VERSION,
        "tool_version": __version__,
        "type": "apply",
        "ok": report.ok,
        "interrupted": report.interrupted,
        "counts": report.counts(),
        "requests": report.requests,
        "elapsed_s": round(report.elapsed_s, 3),
        "steps": [
            {"address": r.change.address, "kind": r.change.kind, "action": r.change.action.value,
             "status": r.status.value, "error": r.error, "id": r.new_id or r.change.live_id,
             "replayed": r.replayed, "calls": r.calls, "elapsed_ms": r.elapsed_ms}
            for r in report.results
        ],
        "notes": list(report.notes),
    }
    if plan is not None:
        doc["plan"] = plan_document(plan)
    return doc
