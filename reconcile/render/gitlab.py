"""GitLab: the Terraform-style plan report (`artifacts:reports:terraform`) and the Code
Quality report (`artifacts:reports:codequality`) for config errors.

GitLab's plan report has three counts; a replace counts as one create plus one delete
and a key rotation as one update (docs/ci.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..errors import Reason
from ..plan import Plan


def plan_report(plan: Plan) -> dict[str, int]:
    n = plan.counts()
    return {"create": n["create"] + n["replace"], "update": n["update"] + n["rotate"],
            "delete": n["delete"] + n["replace"]}


def codequality_report(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    """One Code Quality issue per config error; the fingerprint is stable across runs (file,
    path and message, not the line), so GitLab tracks an error as it moves."""
    issues = []
    seen: dict[str, int] = {}
    for r in reasons:
        file = r.source.file if r.source else ""
        key = f"{file}\0{r.path}\0{r.message}"
        # The same error twice in a file still needs two fingerprints (GitLab dedupes on it).
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key += f"\0{seen[key]}"
        issues.append({
            "description": f"{r.path}: {r.message}" if r.path else r.message,
            "check_name": "infrai-reconcile/config",
            "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
            "severity": "major",
            "location": {"path": file, "lines": {"begin": (r.source.line if r.source and r.source.line else 1)}},
        })
    return issues
