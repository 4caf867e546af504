"""The plan's impacts (reconcile.plan.impact) as lines of the text and markdown plans."""

from __future__ import annotations

from typing import Callable

from ..plan import Plan, Severity

_COLOR = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.DANGER: "red"}


def _heading(plan: Plan) -> str:
    counts = {s: sum(1 for i in plan.impacts if i.severity is s) for s in Severity}
    parts = [f"{n} {s.value}" for s, n in sorted(counts.items(), key=lambda kv: -kv[0].rank) if n]
    return f"Impact ({', '.join(parts)}), from the account's live usage:"


def impact_lines(plan: Plan, style: Callable[..., str] = lambda text, **kw: text) -> list[str]:
    """`Impact (1 danger, …):` then one line per impact; nothing when there is none."""
    if not plan.impacts:
        return []
    lines = ["", style(_heading(plan), bold=True)]
    for i in plan.impacts:
        lines.append("  " + style(f"{i.severity.value.upper():<7}", fg=_COLOR[i.severity], bold=True)
                     + f" {i.address}: {i.message}")
    return lines


def impact_lines_markdown(plan: Plan) -> list[str]:
    if not plan.impacts:
        return []
    lines = [f"**{_heading(plan)}**", "", "| severity | resource | impact |", "|---|---|---|"]
    for i in plan.impacts:
        message = i.message.replace("|", "\\|")
        lines.append(f"| **{i.severity.value}** | `{i.address}` | {message} |")
    return lines + [""]
