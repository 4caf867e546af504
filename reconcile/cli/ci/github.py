"""GitHub Actions, as pure functions: workflow commands (annotations, `::group::`), step
outputs, the step summary, the PR comment body (deletes and replaces first) and the apply
summary. The composite action's runner is reconcile/cli/ci/action.py; the REST calls are
reconcile/cli/ci/github_api.py.

Size caps come from GitHub: a step summary may be at most 1 MiB, a comment body at most
65,536 characters; we stay under both (1,000,000 bytes and 60,000 characters), trimming
the plan's details before its summary and saying how much was cut.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...errors import Reason
from ...plan import Change, Plan
from ...plan.checks import CheckResult
from ...render import render_plan_markdown
from ...render.checks import check_lines, check_lines_markdown
from ...render.common import SourceLinks

MAX_ANNOTATIONS = 10
SUMMARY_LIMIT = 1_000_000      # bytes; GitHub refuses a step summary over 1 MiB
COMMENT_LIMIT = 60_000         # characters; GitHub refuses a comment over 65,536
MARKER = "<!-- infrai-reconcile:plan:{name} -->"


# -- workflow commands ----------------------------------------------------------------
def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF escaped (GitHub's `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, plus `:` and `,` (`escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: object) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def reason_annotation(reason: Reason, level: str = "error") -> str:
    src = reason.source
    return workflow_command(level, reason.message, file=src.file if src else None,
                            line=src.line if src else None, col=src.column if src else None,
                            title=f"infrai config: {reason.path}" if reason.path else "infrai config")


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def config_error_report(reasons: Sequence[Reason], limit: int = MAX_ANNOTATIONS) -> tuple[list[str], str]:
    """The annotation lines (at most `limit`: GitHub shows only 10 error annotations per
    step) and a markdown table of every error for the step summary."""
    lines = [reason_annotation(r) for r in reasons[:limit]]
    if len(reasons) > limit:
        lines.append(workflow_command("error", f"{len(reasons) - limit} more configuration error(s): "
                                      "see the job summary for the full list", title="infrai config"))
    rows = ["### Infrai configuration errors", "", f"{len(reasons)} error(s).", "",
            "| file | line | column | path | error |", "|---|---:|---:|---|---|"]
    for r in reasons:
        src = r.source
        rows.append("| " + " | ".join(_cell(x) for x in (
            src.file if src else "", src.line if src and src.line else "", src.column if src and src.column else "",
            r.path, r.message)) + " |")
    return lines, "\n".join(rows) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


# -- outputs and the step summary -----------------------------------------------------
def write_outputs(path: str | Path, values: Mapping[str, object]) -> None:
    """Append `name=value` lines to $GITHUB_OUTPUT (a heredoc for multi-line values)."""
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if "\n" in text:
                delim = f"ghadelim_{uuid.uuid4().hex}"
                fh.write(f"{name}<<{delim}\n{text}\n{delim}\n")
            else:
                fh.write(f"{name}={text}\n")


def append_summary(path: str | Path, text: str, limit: int = SUMMARY_LIMIT) -> None:
    """Append markdown to $GITHUB_STEP_SUMMARY, never letting the file pass `limit` bytes."""
    p = Path(path)
    used = p.stat().st_size if p.exists() else 0
    data = text.encode("utf-8")
    room = limit - used
    if len(data) > room:
        note = "\n\n… summary cut at GitHub's size limit.\n".encode()
        data = data[:max(0, room - len(note))].decode("utf-8", "ignore").encode("utf-8") + note
        data = data if len(data) <= room else b""
    with open(p, "ab") as fh:
        fh.write(data)


def group(title: str, text: str) -> str:
    """Fold long output in the job log (`::group::` … `::endgroup::`)."""
    return f"::group::{escape_data(title)}\n{text.rstrip()}\n::endgroup::"


# -- the plan in a pull request -----------------------------------------------------------
def marker(name: str) -> str:
    """The comment's hidden first line. The environment name is percent-encoded, so every
    name has its own marker (`prod/eu` → `prod%2Feu`, `prod-eu` stays) and no name can end
    the HTML comment early (`>` → `%3E`)."""
    return MARKER.format(name=environment_slug(name))


def environment_slug(name: str) -> str:
    """The name, percent-encoded: one distinct, file-name-safe string per environment."""
    return quote(name or "default", safe="")


def destroying(plan: Plan) -> list[Change]:
    return [c for c in plan.changes if c.action.destroys]


def plan_outputs(plan: Plan) -> dict[str, object]:
    n = plan.counts()
    gone = len(destroying(plan))
    return {"has_changes": plan.has_changes, "create": n["create"], "update": n["update"],
            "replace": n["replace"], "delete": n["delete"], "rotate": n["rotate"],
            "destroys": gone > 0, "destroy_count": gone,
            # Undeclared live objects inside what the config manages (docs/gitops.md#drift):
            # not changes, but `plan --detailed-exitcode` exits 2 for them.
            "drift": len(plan.drift),
            "failing_checks": sum(1 for r in plan.checks if r.failing)}


def destructive_banner(plan: Plan, budget: int) -> list[str]:
    """Every delete and replace, before anything else in the comment: these are never
    trimmed in favour of details (only past `budget`, with a count of what is left)."""
    gone = destroying(plan)
    if not gone:
        return []
    n = plan.counts()
    lines = ["> [!CAUTION]",
             f"> ⚠️ **This plan deletes/replaces {len(gone)} resource{'s' if len(gone) != 1 else ''}** "
             f"({n['delete']} to delete, {n['replace']} to replace):", ""]
    used = sum(len(line) + 1 for line in lines)
    for i, c in enumerate(gone):
        line = f"- **{c.action.value}** {_code(c.address)}"
        if used + len(line) + 1 > budget:
            lines.append(f"- … and {len(gone) - i} more deleted or replaced (too many for one comment; the job "
                         "summary and the saved plan list every one)")
            break
        lines.append(line)
        used += len(line) + 1
    return lines + [""]


def comment_body(plan: Plan, name: str, limit: int = COMMENT_LIMIT, links: SourceLinks | None = None) -> str:
    """The PR comment: the hidden marker (one comment per environment), the title, every
    delete and replace, then the markdown plan, its details trimmed first to fit `limit`."""
    mark = marker(name)
    banner = "\n".join(destructive_banner(plan, budget=limit // 2))
    body = render_plan_markdown(plan, title=_title(name), limit=limit - len(mark) - len(banner) - 2, links=links)
    if banner:
        title, _, rest = body.partition("\n")
        body = f"{title}\n\n{banner}\n{rest}"
    text = mark + "\n" + body
    if len(text) > limit:  # the summary alone is too long (e.g. thousands of targets)
        note = f"\n\n… {len(text) - limit + 200} characters cut (comment size limit).\n"
        text = text[:limit - len(note)] + note
    return text


def _title(name: str) -> str:
    return f"Infrai plan: {name}" if name else "Infrai plan"


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _at(source: Any, links: SourceLinks | None) -> dict[str, object]:
    """An annotation's `file`, `line` and `endLine` for a JSON plan's `source` (the path
    inside the repository, which is what GitHub shows annotations against)."""
    if not isinstance(source, Mapping) or not source.get("file"):
        return {}
    file = links.path(str(source["file"])) if links is not None else str(source["file"])
    if file is None:
        return {}
    end = source.get("end_line")
    return {"file": file, "line": source.get("line"), "endLine": end if end != source.get("line") else None}


def plan_annotations(document: Mapping[str, Any], limit: int = MAX_ANNOTATIONS,
                     links: SourceLinks | None = None) -> list[str]:
    """`::warning` for each delete and replace and for each warning/danger impact of a JSON
    plan (`plan --format json`), at most `limit` of each, then one line with the count.
    Each is attached to the lines its change is declared at (a delete: to the file that
    last declared it, when git knew), so it shows in the pull request's diff."""
    lines = []
    gone = [c for c in document.get("changes") or [] if c.get("action") in ("delete", "replace")]
    for c in gone[:limit]:
        why = f" ({'; '.join(c['reasons'])})" if c.get("reasons") else ""
        last = c.get("last_declared") or {}
        where = _at(c.get("source"), links) or _at({"file": last.get("file")}, links)
        lines.append(workflow_command("warning", f"{c.get('address')} will be {c.get('action')}d{why}", **where,
                                      title=f"infrai plan: {c.get('action')}"))
    if len(gone) > limit:
        lines.append(workflow_command("warning", f"{len(gone) - limit} more deleted or replaced resource(s): see the "
                                      "job summary", title="infrai plan: delete/replace"))
    loud = [i for i in document.get("impacts") or [] if i.get("severity") != "info"]
    for i in loud[:limit]:
        lines.append(workflow_command("warning", f"{i.get('address')}: {i.get('message')}", **_at(i.get("source"), links),
                                      title=f"infrai impact: {i.get('severity')}"))
    if len(loud) > limit:
        lines.append(workflow_command("warning", f"{len(loud) - limit} more impact(s): see the job summary",
                                      title="infrai impact"))
    return lines


# -- what apply did ---------------------------------------------------------------------
APPLY_MARK = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️", "not_started": "⏸️", "undone": "↩️"}


def apply_summary(report: Mapping[str, Any], name: str, plan_file: str | None = None) -> str:
    """The step summary of an apply, from its JSON report (`apply --format json`)."""
    steps = report.get("steps") or []
    counts = report.get("counts") or {}
    lines = [f"### Infrai apply: {name}" if name else "### Infrai apply", ""]
    if plan_file:
        lines += [f"Applied the saved plan `{Path(plan_file).name}` (the plan reviewed in the pull request).", ""]
    checks = report_checks(report)
    if not steps:
        lines.append("**No changes: the account already matched the plan.**")
        return "\n".join(lines + ["", *check_lines_markdown(checks)]).rstrip("\n") + "\n"
    parts = [f"{counts.get(k, 0)} {k.replace('_', ' ')}" for k in ("succeeded", "failed", "skipped", "not_started",
                                                                     "undone") if counts.get(k)]
    lines += [f"**Applied {len(steps)} step{'s' if len(steps) != 1 else ''}: {', '.join(parts)}.**", "",
              "| | resource | action | status |", "|---|---|---|---|"]
    for s in steps:
        status = str(s.get("status", ""))
        error = f" ({s['error']})" if s.get("error") else ""
        lines.append(f"| {APPLY_MARK.get(status, '')} | {_cell(_code(str(s.get('address'))))} | {s.get('action')} "
                     f"| {_cell(status + error)} |")
    if checks:  # the after-apply checks: did the account get the behaviour it was meant to have
        lines += ["", *check_lines_markdown(checks)]
    return "\n".join(lines).rstrip("\n") + "\n"


def report_checks(report: Mapping[str, Any]) -> list[CheckResult]:
    """The after-apply check results of an apply report (`apply --format json`)."""
    return [CheckResult.from_data(c) for c in report.get("checks") or []]


def apply_log(report: Mapping[str, Any]) -> str:
    """The apply report as lines for the job log."""
    steps = report.get("steps") or []
    checks = check_lines(report_checks(report))
    if not steps:
        return "\n".join(["No changes: the account already matched the plan.", *checks])
    lines = [f"{APPLY_MARK.get(str(s.get('status')), ' ')} {s.get('action'):<8} {s.get('address')}  {s.get('status')}"
             + (f": {s['error']}" if s.get("error") else "") for s in steps]
    counts = report.get("counts") or {}
    lines.append("Apply: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v) + ".")
    return "\n".join(lines + checks)
