"""The drift report: how the live account differs from the configuration, as data.

Built from a plan (pure): per resource that would change, each drifted field with its live
and declared value (sensitive values masked as in the plan); the undeclared live objects
that are drift (inside what the config manages); and how many live objects of each kind
the configuration does not declare. Written by `plan --drift-report FILE`;
the document is described in schemas/plan.schema.json (`type: drift`).
Imports: plan, render.json_ (format version).
"""

from __future__ import annotations

from typing import Any

from ..plan import Plan
from .json_ import JSON_FORMAT_VERSION


def drift_report(plan: Plan) -> dict[str, Any]:
    resources = []
    fields = 0
    for change in plan.changes:
        data = change.to_data()
        drifted = [{"path": d["path"], "live": d["before"], "declared": d["after"],
                    **({"sensitive": True} if d.get("sensitive") else {})} for d in data["diffs"]]
        fields += len(drifted)
        resources.append({"address": change.address, "kind": change.kind, "action": change.action.value,
                          "actions": data["actions"], "fields": drifted, "reasons": list(change.reasons)})
    unmanaged: dict[str, int] = {}
    for u in plan.unmanaged:
        unmanaged[u.kind] = unmanaged.get(u.kind, 0) + 1
    return {
        "format_version": JSON_FORMAT_VERSION,
        "type": "drift",
        "drifted": plan.has_drift,
        "partial": plan.partial,
        "summary": plan.counts(),
        "drifted_fields": fields,
        "resources": resources,
        # Live objects the config does not declare, inside what it manages (docs/gitops.md#drift).
        "undeclared": [{"address": u.address, "kind": u.kind, "reason": u.reason} for u in plan.drift],
        "unmanaged_counts": unmanaged,
        "live_counts": dict(plan.live_counts),
        "config_digest": plan.config_digest,
        "live_fingerprint": plan.live_fingerprint,
    }
