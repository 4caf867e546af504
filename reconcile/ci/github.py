"""GitHub Actions: workflow-command annotations for config errors, step outputs, the step
summary and the PR comment body, and the composite action's runner (`action.yml` calls
`reconcile ci github-action`, which calls `run_action`).

Size caps come from GitHub: a step summary may be at most 1 MiB, a comment body at most
65,536 characters; we stay under both (1,000,000 bytes and 60,000 characters), trimming
the plan's details before its summary and saying how much was cut.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Reason
from ..plan import Plan
from ..render import render_plan_markdown

MAX_ANNOTATIONS = 10
SUMMARY_LIMIT = 1_000_000      # bytes; GitHub refuses a step summary over 1 MiB
COMMENT_LIMIT = 60_000         # characters; GitHub refuses a comment over 65,536
MARKER = "<!-- infrai-reconcile:plan:{name} -->"
COMMANDS = ("plan", "apply", "validate")


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


def plan_outputs(plan: Plan) -> dict[str, object]:
    n = plan.counts()
    return {"has_changes": plan.has_changes, "create": n["create"], "update": n["update"],
            "replace": n["replace"], "delete": n["delete"], "rotate": n["rotate"]}


def comment_body(plan: Plan, name: str, limit: int = COMMENT_LIMIT) -> str:
    """The PR comment: the hidden marker (one comment per environment, found and updated by
    the workflow), then the markdown plan, details trimmed first to fit `limit`."""
    marker = MARKER.format(name=_marker_name(name))
    body = render_plan_markdown(plan, title=_title(name), limit=limit - len(marker) - 1)
    text = marker + "\n" + body
    if len(text) > limit:  # the summary alone is too long (e.g. thousands of targets)
        note = f"\n\n… {len(text) - limit + 200} characters cut (comment size limit).\n"
        text = text[:limit - len(note)] + note
    return text


def _title(name: str) -> str:
    return f"Infrai plan: {name}" if name else "Infrai plan"


def _marker_name(name: str) -> str:
    # The marker must stay one HTML comment whatever the environment is called.
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name) or "default"


# -- the composite action ---------------------------------------------------------------
@dataclass(frozen=True)
class ActionInputs:
    command: str = "plan"
    paths: str = "."
    endpoint: str = ""
    parallelism: str = ""
    args: str = ""
    name: str = "default"
    local: bool = False


Runner = Callable[[list[str]], int]
# Options that decide what the plan contains: for `apply` they go to the `plan` step, the
# others (--force, --keep-going, --secrets-out…) to `apply PLANFILE`.
PLAN_SHAPING = ("--prune", "--target", "--replace", "--var", "--var-file")


def split_plan_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    shaping: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        if name in PLAN_SHAPING:
            shaping.append(token)
            if "=" not in token and i + 1 < len(args) and not args[i + 1].startswith("-"):
                shaping.append(args[i + 1])
                i += 1
        else:
            rest.append(token)
        i += 1
    return shaping, rest


def _run_cli(argv: list[str]) -> int:
    """The CLI in a child process, its output going to the job log as it happens."""
    code = subprocess.call([sys.executable, "-m", "reconcile", *argv])
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


def run_action(inputs: ActionInputs, env: Mapping[str, str], runner: Runner = _run_cli) -> int:
    """Run validate, plan or apply as the action's one step; write outputs, the step summary
    and the comment body. Returns the step's exit status: 0 on success (a plan with changes
    is a success; `exitcode` says 2), else the failing command's own code (1 error, 3 policy,
    4 --fail-on, 130 interrupted), which `exitcode` says too."""
    import shlex

    if inputs.command not in COMMANDS:
        print(workflow_command("error", f"command must be one of {', '.join(COMMANDS)}, not {inputs.command!r}",
                               title="infrai-reconcile"))
        return 1
    temp = Path(env.get("RUNNER_TEMP") or ".")
    slug = _marker_name(inputs.name)
    plan_path = temp / f"infrai-plan-{slug}.json"
    comment_path = temp / f"infrai-comment-{slug}.md"
    paths = shlex.split(inputs.paths) or ["."]
    extra = shlex.split(inputs.args)
    conn: list[str] = []
    if inputs.local:
        conn += ["--local", str(temp / f"infrai-local-{slug}.db")]
    if inputs.endpoint:
        conn += ["--endpoint", inputs.endpoint]
    if inputs.parallelism:
        conn += ["--parallelism", inputs.parallelism]
    outputs_file = env.get("GITHUB_OUTPUT")

    if inputs.command == "validate":
        code = runner(["validate", *paths, *extra])
        if outputs_file:
            write_outputs(outputs_file, {"exitcode": code, "has_changes": False})
        return code

    from ..plan.saved import is_plan_file, load_plan

    if inputs.command == "apply" and len(paths) == 1 and is_plan_file(paths[0]):
        # The plan reviewed in the pull request: apply exactly it (refused if stale).
        plan_path = Path(paths[0])
        code = 0
    else:
        # `plan` itself writes the markdown plan to the step summary (cli/gitops.py).
        shaping, rest = split_plan_args(extra) if inputs.command == "apply" else (extra, [])
        extra = rest
        # A plan file left by an earlier run (RUNNER_TEMP unset: the working directory) must
        # never stand in for this one: `plan` writes it only when it passes (not on 1, 3, 4).
        plan_path.unlink(missing_ok=True)
        comment_path.unlink(missing_ok=True)
        code = runner(["plan", *paths, *conn, "--no-color", "--detailed-exitcode", "--out", str(plan_path), *shaping])
    # --detailed-exitcode: 0 no changes, 2 changes; anything else (1 error, 3 policy,
    # 4 --fail-on, 130 interrupted) fails the step with that code, and nothing is applied.
    if code not in (0, 2) or not plan_path.exists():
        failed = code if code not in (0, 2) else 1
        if outputs_file:
            write_outputs(outputs_file, {"exitcode": failed, "has_changes": False, "plan_path": ""})
        return failed
    plan = load_plan(str(plan_path)).plan
    if inputs.command == "apply" and plan.has_changes:
        code = runner(["apply", str(plan_path), *conn, "--auto-approve", "--no-color", *extra])
    comment_path.write_text(comment_body(plan, inputs.name), encoding="utf-8")
    if outputs_file:
        write_outputs(outputs_file, {**plan_outputs(plan), "plan_path": plan_path, "comment_path": comment_path,
                                     "exitcode": code})
    # Only the plan's 2 (changes) is a success besides 0; apply's every other code fails the step.
    return 0 if code == 0 or (code == 2 and inputs.command == "plan") else code
