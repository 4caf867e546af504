"""The machine-readable UI: one JSON object per line for `plan --json` and `apply --json`,
modelled on Terraform's `-json` output (docs/json-events.md documents every type).

Each message has `@level` (info|warn|error), `@message` (a human line), `@module`,
`@timestamp` (RFC 3339, UTC) and `type`. Values come from `Change.to_data()`-style masked
forms only, so a secret never reaches the stream. Bump `UI_VERSION`'s minor for additions,
its major for anything a consumer could trip on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..apply.events import ApplyEvent, ApplyReport, StepStatus
from ..errors import Reason
from ..plan import Change, Plan, Unmanaged

UI_VERSION = "1.3"  # 1.1: resource_drift, change_summary drift count; 1.2: planned_change source; 1.3: check diagnostics
MODULE = "reconcile.ui"

_ING = {"create": "Creating", "update": "Updating", "replace": "Replacing", "delete": "Destroying",
        "rotate": "Rotating"}
_ED = {"create": "Creation", "update": "Modifications", "replace": "Replacement", "delete": "Destruction",
       "rotate": "Rotation"}


def message(type_: str, text: str, level: str = "info", ts: float | None = None, **fields: Any) -> dict[str, Any]:
    when = datetime.fromtimestamp(ts, UTC) if ts is not None else datetime.now(UTC)
    return {"@level": level, "@message": text, "@module": MODULE,
            "@timestamp": when.isoformat(timespec="microseconds").replace("+00:00", "Z"), "type": type_, **fields}


def line(msg: dict[str, Any]) -> str:
    """One message as one line (no pretty-printing: a newline ends a message)."""
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"))


def version_message() -> dict[str, Any]:
    return message("version", f"infrai-reconcile {__version__}", ui=UI_VERSION, reconcile=__version__)


def _resource(c: Change) -> dict[str, Any]:
    return {"addr": c.address, "kind": c.kind, "id": c.live_id}


def planned_change(c: Change) -> dict[str, Any]:
    data = c.to_data()
    return message("planned_change", f"{c.address}: Plan to {c.action.value}",
                   change={"resource": _resource(c), "action": c.action.value, "actions": data["actions"],
                           "reasons": data["reasons"], "diffs": data["diffs"], "depends_on": data["depends_on"],
                           "source": data["source"],
                           **({"last_declared": data["last_declared"]} if "last_declared" in data else {})})


def resource_drift(u: Unmanaged) -> dict[str, Any]:
    """A live object the config does not declare, inside what it manages (Terraform's
    `resource_drift` is an object changed outside it; this one exists outside it)."""
    return message("resource_drift", f"{u.address}: exists but is not declared ({u.reason})", level="warn",
                   change={"resource": {"addr": u.address, "kind": u.kind}, "action": "undeclared",
                           "reason": u.reason})


def plan_summary(plan: Plan) -> dict[str, Any]:
    return message("change_summary", plan.summary(),
                   changes={**plan.counts(), "operation": "plan", "drift": len(plan.drift)})


def apply_event(event: ApplyEvent) -> dict[str, Any] | None:
    """An executor event as a message; None for events the stream does not carry (pending)."""
    c, action = event.change, event.change.action.value
    hook: dict[str, Any] = {"resource": _resource(c), "action": action}
    if event.status is StepStatus.RUNNING:
        return message("apply_start", f"{c.address}: {_ING[action]}...", ts=event.ts, hook=hook)
    hook["elapsed_seconds"] = round(event.elapsed_ms / 1000, 3)
    if event.status is StepStatus.SUCCEEDED:
        return message("apply_complete", f"{c.address}: {_ED[action]} complete after {event.elapsed_ms} ms",
                       ts=event.ts, hook=hook)
    if event.status in (StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.NOT_STARTED, StepStatus.UNDONE):
        hook["status"] = event.status.value
        hook["error"] = event.error
        level = "error" if event.status is StepStatus.FAILED else "warn"
        return message("apply_errored", f"{c.address}: {action} {event.status.value}"
                       + (f": {event.error}" if event.error else ""), level=level, ts=event.ts, hook=hook)
    return None


def apply_progress(c: Change, elapsed_s: float) -> dict[str, Any]:
    action = c.action.value
    return message("apply_progress", f"{c.address}: Still {_ING[action].lower()}... [{int(elapsed_s)}s elapsed]",
                   hook={"resource": _resource(c), "action": action, "elapsed_seconds": int(elapsed_s)})


def apply_summary(report: ApplyReport, plan: Plan) -> dict[str, Any]:
    n = {a: 0 for a in plan.counts()}
    for r in report.results:
        if r.status is StepStatus.SUCCEEDED:
            n[r.change.action.value] += 1
    return message("change_summary", report.summary(), level="info" if report.ok else "error",
                   changes={**n, "operation": "apply"}, results=report.counts(), ok=report.ok)


def diagnostic(summary: str, detail: str = "", level: str = "error", reason: Reason | None = None) -> dict[str, Any]:
    diag: dict[str, Any] = {"severity": level, "summary": summary, "detail": detail}
    if reason is not None:
        diag["address"] = reason.path
        if reason.source is not None:
            diag["range"] = {"filename": reason.source.file,
                             "start": {"line": reason.source.line, "column": reason.source.column}}
    return message("diagnostic", summary, level=level, diagnostic=diag)


def check_diagnostic(result: Any) -> dict[str, Any]:
    """One check result (reconcile.plan.checks.CheckResult; docs/checks.md): `warn` when it
    fails or could not run, else `info`; `check` carries the result as the JSON plan has it."""
    msg = diagnostic(f"check {result.status}: [{result.severity}] {result.address}: {result.message}",
                     level="warn" if result.failing else "info")
    msg["diagnostic"]["address"] = result.address
    return {**msg, "check": result.to_data()}


def reason_diagnostic(reason: Reason) -> dict[str, Any]:
    return diagnostic(reason.message, str(reason), reason=reason)
