"""The human plan and apply report for terminals and CI logs (Terraform-like)."""

from __future__ import annotations

from typing import Callable, Sequence

from ..apply.events import ApplyReport, StepStatus
from ..kinds import REGISTRY
from ..plan import Action, Plan, Unmanaged
from .common import (COLOR, SYMBOL, change_citation, deleted_with_parent, delta_text, diff_values, field_citation,
                     headline, list_delta, with_it_line)
from .checks import check_lines
from .impacts import impact_lines


#: How to colour a piece of text (`click.style`'s signature); the CLI passes one for a
#: terminal, and the renderers stay free of click and of terminal detection.
Styler = Callable[..., str]


def _styler(style: Styler | None) -> Styler:
    return style if style is not None else (lambda text, **_: text)


def render_plan_text(plan: Plan, *, style: Styler | None = None, show_unmanaged: bool = True) -> str:
    s = _styler(style)
    lines: list[str] = []
    if plan.partial:
        lines.append(s(f"Partial plan: only {', '.join(plan.targets)} and what they depend on.", fg="yellow"))
        lines.append("")
    if not plan.changes:
        lines.append("No changes to make, but the account has drift: live objects the configuration does not "
                     "declare (below)." if plan.drift else "No changes. The account matches the configuration.")
    nested = deleted_with_parent(plan)
    under_parent = {child.address for children in nested.values() for child in children}
    for c in plan.changes:
        if c.address in under_parent:
            continue  # shown under its parent's delete
        symbol = SYMBOL[c.action]
        lines.append(s(f"  {symbol} {c.address}", fg=COLOR[c.action], bold=True) + f"  {headline(c)}"
                     + s(f"  — {change_citation(c)}", dim=True))
        if c.action is Action.DELETE:
            if c.address in nested:
                lines.append(s(f"      {with_it_line(nested[c.address])}", fg="red"))
            continue
        width = max((len(d.path) for d in c.diffs), default=0)
        for d in c.diffs:
            before, after = diff_values(d)
            # A create cites only the values that were not written out in its own file.
            cited = field_citation(c, d, line=c.action is not Action.CREATE)
            where = s(f"   ({cited})", dim=True) if cited else ""
            delta = list_delta(d) if c.action is not Action.CREATE else None
            if c.action is Action.CREATE:
                lines.append(f"      {d.path.ljust(width)} = {after}" + where)
            elif delta is not None:
                lines.append(f"      {d.path.ljust(width)} : {delta_text(*delta)}" + where)
            elif d.before is None and not d.sensitive:
                lines.append(s(f"      + {d.path.ljust(width)} = {after}", fg="green") + where)
            elif d.after is None and not d.sensitive:
                lines.append(s(f"      - {d.path.ljust(width)} = {before}", fg="red") + where)
            else:
                lines.append(f"      {d.path.ljust(width)} : {before} → {after}" + where)
    lines += impact_lines(plan, s)
    lines += check_lines(plan.checks, s)
    if show_unmanaged:
        drift = plan.drift
        if drift:
            lines.append("")
            lines.append(s(f"Drift (live, not declared, inside what the config manages): {_counted(drift)}.",
                           fg="yellow", bold=True))
            lines += _listed(drift)
            lines.append("    Declare them, delete them with --prune, or set `unmanaged: ignore` in the config "
                         "if they are not yours.")
        rest = [u for u in plan.unmanaged if not u.drift]
        if rest:
            lines.append("")
            lines.append(f"Unmanaged (live, not declared, left alone): {_counted(rest)}.")
            lines += _listed(rest)
    for w in plan.warnings:
        lines.append(s(f"Warning: {w}", fg="yellow"))
    lines.append("")
    lines.append(s(plan.summary(), bold=True))
    return "\n".join(lines) + "\n"


def _counted(objects: Sequence[Unmanaged]) -> str:
    counts: dict[str, int] = {}
    for u in objects:
        counts[u.kind] = counts.get(u.kind, 0) + 1
    return ", ".join(f"{n} {REGISTRY[k].title}{'s' if n != 1 else ''}" for k, n in counts.items())


def _listed(objects: Sequence[Unmanaged], shown: int = 20) -> list[str]:
    lines = [f"    {u.address}  ({u.reason})" for u in objects[:shown]]
    if len(objects) > shown:
        lines.append(f"    … and {len(objects) - shown} more")
    return lines


_STATUS_WORD = {
    StepStatus.SUCCEEDED: ("done", "green"),
    StepStatus.FAILED: ("FAILED", "red"),
    StepStatus.SKIPPED: ("skipped", "yellow"),
    StepStatus.NOT_STARTED: ("not started", "yellow"),
    StepStatus.UNDONE: ("undone", "magenta"),
}


#: An apply stopped early lists this many of the steps it never started, then counts the rest.
NOT_STARTED_SHOWN = 3


def render_report_text(report: ApplyReport, *, style: Styler | None = None) -> str:
    s = _styler(style)
    lines = []
    not_started = [r for r in report.results if r.status is StepStatus.NOT_STARTED]
    hidden = {id(r) for r in not_started[NOT_STARTED_SHOWN:]}
    for r in report.results:
        if id(r) in hidden:
            continue
        word, fg = _STATUS_WORD.get(r.status, (r.status.value, "white"))
        line = f"  {SYMBOL[r.change.action]} {r.change.address}: {r.change.action.value} " + s(word, fg=fg)
        if r.new_id:
            line += f" (id {r.new_id})"
        if r.replayed:
            line += " (replayed by the API: it had already been done)"
        lines.append(line)
        if r.error:
            lines.append(s(f"      {r.error}", fg="red"))
    if hidden:
        lines.append(s(f"  ... and {len(hidden)} more not started", fg="yellow"))
    for note in report.notes:
        lines.append(note)
    lines.append("")
    lines.append(s(report.summary(), bold=True) + f" {report.requests} request{'' if report.requests == 1 else 's'} in {report.elapsed_s:.2f}s.")
    return "\n".join(lines) + "\n"


__all__ = ["render_plan_text", "render_report_text"]
