"""CI outputs of `plan` besides stdout: the GitHub Actions step summary and the drift report."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..render.drift import drift_report
from ..plan import Plan
from ..render import render_plan_markdown
from ..render.common import SourceLinks

# GitHub refuses a step summary over 1 MiB; stay well under it, whole lines only.
STEP_SUMMARY_LIMIT = 512 * 1024


def write_step_summary(plan: Plan, links: SourceLinks | None) -> str | None:
    """Under GitHub Actions, append the markdown plan to $GITHUB_STEP_SUMMARY; return its path.
    `links`: the caller's `links_from_env()` (None without a known host), read once a run."""
    from .ci.github import in_github_actions

    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not in_github_actions() or not path:
        return None
    with open(path, "a", encoding="utf-8") as f:
        f.write(render_plan_markdown(plan, limit=STEP_SUMMARY_LIMIT, links=links) + "\n")
    return path


def write_drift_report(path: str, plan: Plan) -> None:
    Path(path).write_text(json.dumps(drift_report(plan), indent=2) + "\n", encoding="utf-8")
