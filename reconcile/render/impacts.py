"""The plan's impacts (reconcile.plan.impact) as lines of the text and markdown plans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..plan import Plan
from .common import severity_counts, severity_tag

if TYPE_CHECKING:
    from .common import SourceLinks


def _heading(plan: Plan) -> str:
    return f"Impact ({', '.join(severity_counts(i.severity for i in plan.impacts))}), from the account's live usage:"


def _loudest_first(plan: Plan) -> list[Any]:
    """Danger, then warning, then info (the heading's order); the plan's order within each."""
    return sorted(plan.impacts, key=lambda i: -i.severity.rank)


def impact_lines(plan: Plan, style: Callable[..., str] = lambda text, **kw: text) -> list[str]:
    """`Impact (1 danger, …):` then one line per impact, loudest first, citing the change's declaration;
    nothing when there is none."""
    if not plan.impacts:
        return []
    lines = ["", style(_heading(plan), bold=True)]
    changes = plan.by_address()
    for i in _loudest_first(plan):
        src = changes[i.address].source if i.address in changes else None
        lines.append("  " + severity_tag(i.severity, style)
                     + f" {i.address}: {i.message}" + (style(f"  — {src}", dim=True) if src is not None else ""))
    return lines


def impact_lines_markdown(plan: Plan, links: "SourceLinks | None" = None) -> list[str]:
    if not plan.impacts:
        return []
    changes = plan.by_address()
    lines = [f"**{_heading(plan)}**", "", "| severity | resource | impact | declared at |", "|---|---|---|---|"]
    for i in _loudest_first(plan):
        message = i.message.replace("|", "\\|")
        src = changes[i.address].source if i.address in changes else None
        where = ""
        if src is not None:
            url = links.url(src.file, src.line, src.end_line) if links is not None else None
            where = f"[`{src}`]({url})" if url else f"`{src}`"
        lines.append(f"| **{i.severity.value}** | `{i.address}` | {message} | {where} |")
    return lines + [""]
