"""The composite action's one step (`action.yml` runs `reconcile ci github-action`): run
`validate`, `plan` or `apply` as a child process, exactly as a user would, then report what
happened: step outputs, the step summary, annotations (on stderr, so no stdout JSON ever
holds one), the plan folded in the log, and the PR comment.

The merge job applies the plan reviewed in the pull request (`plan-file`): a missing file
fails (never a silent re-plan unless `on-missing-plan: plan`), a stale one is refused by
`apply PLANFILE` itself.

`plan` with `--fail-on` (in `args` or INFRAI_FAIL_ON) gates after the comment is posted: the
reviewer sees the failing check or impact that fails the step (exit 4).
Imports: errors, plan, render, workflow (the planfile, the --fail-on gate), cli.ci.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ...errors import ImpactAboveThreshold, ReconcileError
from ...plan import Impact, Plan
from ...plan.checks import CheckResult
from ...workflow.gates import check_gates
from ...workflow.planfile import is_plan_file, load_plan
from ...render import render_plan_text
from ..source_links import links_from_env
from .github import (
    append_summary,
    apply_log,
    apply_summary,
    comment_body,
    environment_slug,
    group,
    marker,
    plan_annotations,
    plan_outputs,
    report_checks,
    workflow_command,
    write_outputs,
)
from .github_api import GitHub, GitHubError, pull_request_from_env

COMMANDS = ("plan", "apply", "validate")
ON_MISSING_PLAN = ("fail", "plan")
# Every output the step writes; action.yml declares exactly these (tests/ci check both ways).
OUTPUTS = ("has_changes", "create", "update", "replace", "delete", "rotate", "destroys", "destroy_count", "drift",
           "failing_checks", "applied", "failed", "plan_path", "comment_path", "comment_url", "exitcode")
# Options that decide what the plan contains: for `apply` they go to the `plan` step, the
# others (--force, --keep-going, --secrets-out…) to `apply PLANFILE`.
PLAN_SHAPING = ("--prune", "--target", "--replace", "--var", "--var-file")
TITLE = "infrai-reconcile"
FAIL_ON_LEVELS = ("warning", "danger")


@dataclass(frozen=True)
class ActionInputs:
    command: str = "plan"
    paths: str = "."
    endpoint: str = ""
    parallelism: str = ""
    args: str = ""
    name: str = "default"
    local: bool = False
    plan_file: str = ""
    on_missing_plan: str = "fail"
    comment: bool = True
    destroy_label: str = ""
    github_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str = ""
    error: str = ""          # what the CLI printed after `Error: ` on stderr
    annotated: bool = False  # the CLI printed its own ::error lines (config errors)


Runner = Callable[[list[str], Mapping[str, str]], CliRun]


def run_cli(argv: list[str], env: Mapping[str, str]) -> CliRun:
    """The CLI in a child process: stderr (progress, errors) goes to the job log as it
    happens and is kept from `Error: ` on; stdout is captured for the action to read."""
    # The child needs no GitHub token: it never reaches the CLI or a secret sink it runs.
    child_env = {k: v for k, v in env.items() if k not in ("INFRAI_ACTION_GITHUB_TOKEN", "GITHUB_TOKEN")}
    child_env["INFRAI_PLAN_ANNOTATIONS"] = "0"  # the action annotates the plan itself, once
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env)
    error: list[str] = []
    annotated = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.startswith("::error"):
                annotated.set()
            if line.startswith("Error: "):
                error.clear()
                line = line[len("Error: "):]
                error.append(line)
            elif error:
                error.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    assert proc.stdout is not None
    try:
        out = proc.stdout.read()
        code = proc.wait()
    except KeyboardInterrupt:
        # The runner's cancel reaches the child too (same process group): let it finish
        # saying what it did, and report its code (130).
        out, code = "", proc.wait()
    reader.join()
    return CliRun(128 - code if code < 0 else code, out, "".join(error).strip(), annotated.is_set())


def split_plan_args(args: list[str]) -> tuple[list[str], list[str]]:
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


def take_fail_on(args: list[str], env: Mapping[str, str]) -> tuple[str | None, list[str], dict[str, str]]:
    """For `plan`: the `--fail-on` level (from `args`, else INFRAI_FAIL_ON) taken out of the
    CLI's arguments and environment, so the plan is saved and commented on before the action
    applies the gate itself. An invalid level stays in place for the CLI to refuse."""
    rest: list[str] = []
    level: str | None = None
    i = 0
    while i < len(args):
        token = args[i]
        value = token.split("=", 1)[1] if token.startswith("--fail-on=") else (
            args[i + 1] if token == "--fail-on" and i + 1 < len(args) else None)
        if value in FAIL_ON_LEVELS:
            level = value
            i += 1 if "=" in token else 2
            continue
        rest.append(token)
        i += 1
    child = dict(env)
    from_env = child.get("INFRAI_FAIL_ON")
    if from_env in FAIL_ON_LEVELS:
        del child["INFRAI_FAIL_ON"]
        level = level or from_env
    return level, rest, child


def failure_annotation(command: str, run: CliRun) -> str:
    """One `::error` saying why the command failed: stale plan, policy, the `--fail-on` gate
    (an impact, a failing check or a status finding), auth, API or interrupted, with the
    CLI's own message."""
    text = run.error or f"reconcile {command} exited with {run.code}"
    low = text.lower()
    kind = {3: "policy violation", 4: "--fail-on gate (an impact, a failing check or a status finding)", 130: "interrupted"}.get(run.code)
    if kind is None:
        if "stale" in low:
            kind = "stale plan"
        elif any(w in low for w in ("401", "403", "unauthenticated", "forbidden", "api key")):
            kind = "authentication"
        elif any(w in low for w in ("http", "api ", "timed out", "connect", "status")):
            kind = "API error"
        else:
            kind = "failed"
    return workflow_command("error", text, title=f"infrai {command}: {kind}")


class _Step:
    """What the step reports: outputs (declared ones only), summary, stderr annotations."""

    def __init__(self, env: Mapping[str, str]):
        self.outputs_file = env.get("GITHUB_OUTPUT")
        self.summary_file = env.get("GITHUB_STEP_SUMMARY")

    def outputs(self, values: Mapping[str, object]) -> None:
        unknown = set(values) - set(OUTPUTS)
        if unknown:  # a programming error: action.yml would silently drop it
            raise ValueError(f"undeclared action outputs: {sorted(unknown)}")
        if self.outputs_file:
            write_outputs(self.outputs_file, values)

    def summary(self, text: str) -> None:
        if self.summary_file:
            append_summary(self.summary_file, text)

    @staticmethod
    def annotate(*lines: str) -> None:
        for line in lines:
            print(line, file=sys.stderr, flush=True)

    @staticmethod
    def log(text: str) -> None:
        print(text, flush=True)

    def fail(self, code: int, **outputs: object) -> int:
        self.outputs({"exitcode": code, "has_changes": False, "plan_path": "", **outputs})
        return code


def run_action(inputs: ActionInputs, env: Mapping[str, str], runner: Runner = run_cli,
               http: httpx.Client | None = None) -> int:
    """Run validate, plan or apply as the action's one step. Returns the step's exit status:
    0 on success (a plan with changes is a success; the `exitcode` output says 2), else the
    failing command's own code (1 error, 3 policy, 4 --fail-on, 130 interrupted)."""
    step = _Step(env)
    problem = _bad_inputs(inputs)
    if problem:
        step.annotate(workflow_command("error", problem, title=TITLE))
        return step.fail(1)
    temp = Path(env.get("RUNNER_TEMP") or ".")
    slug = environment_slug(inputs.name)
    paths = shlex.split(inputs.paths) or ["."]
    extra = shlex.split(inputs.args)
    conn = _connection_args(inputs, temp / f"infrai-local-{slug}.db")
    if inputs.command == "validate":
        return _validate(runner, env, step, paths, extra)
    reviewed = _reviewed_plan_file(inputs, paths, step)
    if isinstance(reviewed, int):
        return reviewed
    if reviewed is not None:
        return _apply(inputs, env, runner, step, reviewed, conn, extra)
    return _plan_here(inputs, env, runner, step, http, paths, conn, extra, temp, slug)


def _bad_inputs(inputs: ActionInputs) -> str | None:
    if inputs.command not in COMMANDS:
        return f"command must be one of {', '.join(COMMANDS)}, not {inputs.command!r}"
    if inputs.on_missing_plan not in ON_MISSING_PLAN:
        return f"on-missing-plan must be one of {', '.join(ON_MISSING_PLAN)}, not {inputs.on_missing_plan!r}"
    return None


def _connection_args(inputs: ActionInputs, local_db: Path) -> list[str]:
    conn: list[str] = []
    if inputs.local:
        conn += ["--local", str(local_db)]
    if inputs.endpoint:
        conn += ["--endpoint", inputs.endpoint]
    if inputs.parallelism:
        conn += ["--parallelism", inputs.parallelism]
    return conn


def _validate(runner: Runner, env: Mapping[str, str], step: _Step, paths: list[str], extra: list[str]) -> int:
    run = runner(["validate", *paths, *extra], env)
    step.log(run.stdout)
    if run.code and not run.annotated:
        step.annotate(failure_annotation("validate", run))
    step.outputs({"exitcode": run.code, "has_changes": False})
    return run.code


def _plan_here(inputs: ActionInputs, env: Mapping[str, str], runner: Runner, step: _Step,
               http: httpx.Client | None, paths: list[str], conn: list[str], extra: list[str], temp: Path,
               slug: str) -> int:
    """`plan`, or an `apply` without a reviewed plan: plan here (saved, commented), then
    gate (plan) or apply exactly the plan just made."""
    plan_path = temp / f"infrai-plan-{slug}.json"
    comment_path = temp / f"infrai-comment-{slug}.md"
    shaping, rest = split_plan_args(extra) if inputs.command == "apply" else (extra, [])
    fail_on, child_env = None, env
    if inputs.command == "plan":
        fail_on, shaping, child_env = take_fail_on(shaping, env)
    # A plan file left by an earlier run (RUNNER_TEMP unset: the working directory) must
    # never stand in for this one: `plan` writes it only when it passes (not on 1, 3, 4).
    plan_path.unlink(missing_ok=True)
    comment_path.unlink(missing_ok=True)
    run = runner(["plan", *paths, *conn, "--no-color", "--detailed-exitcode", "--format", "json",
                  "--out", str(plan_path), *shaping], child_env)
    document = _json(run.stdout)
    # --detailed-exitcode: 0 no changes, 2 changes; anything else (1 error, 3 policy,
    # 4 --fail-on, 130 interrupted) fails the step with that code, and nothing is applied.
    if run.code not in (0, 2) or not plan_path.exists():
        if document:
            step.log(_plan_counts_line(document))
            step.annotate(*plan_annotations(document, links=links_from_env(env)))
        if not run.annotated:
            step.annotate(failure_annotation("plan", run))
        return step.fail(run.code if run.code not in (0, 2) else 1)
    try:
        plan = _with_results(load_plan(str(plan_path), env=env).plan, document)
    except ReconcileError as exc:  # e.g. a secret's variable unset in this process
        step.annotate(workflow_command("error", str(exc), title="infrai plan: saved plan unreadable"))
        return step.fail(1)
    step.log(group(f"Plan: {inputs.name} ({plan.summary()})", render_plan_text(plan)))
    links = links_from_env(env)
    step.annotate(*plan_annotations(document or {}, links=links))
    body = comment_body(plan, inputs.name, links=links)
    comment_path.write_text(body, encoding="utf-8")
    outputs: dict[str, object] = {**plan_outputs(plan), "plan_path": plan_path, "comment_path": comment_path}
    if inputs.command == "plan":
        if inputs.comment:
            outputs["comment_url"] = publish_comment(inputs, env, body, plan, step, http)
        try:
            check_gates(plan, None, fail_on=fail_on)
        except ImpactAboveThreshold as exc:  # commented first: the reviewer sees why it fails
            step.annotate(failure_annotation("plan", CliRun(exc.exit_code, error=str(exc))))
            step.outputs({**outputs, "plan_path": "", "exitcode": exc.exit_code})
            return exc.exit_code
        step.outputs({**outputs, "exitcode": run.code})
        return 0
    if not plan.has_changes:
        step.summary(apply_summary({"steps": []}, inputs.name))
        step.outputs({**outputs, "applied": 0, "failed": 0, "exitcode": 0})
        return 0
    return _apply(inputs, env, runner, step, plan_path, conn, rest)


def _reviewed_plan_file(inputs: ActionInputs, paths: list[str], step: _Step) -> Path | int | None:
    """For apply: the saved plan to apply (the `plan-file` input, or a plan file as the one
    path), None to plan here first, or the exit code when the reviewed plan is missing."""
    if inputs.command != "apply":
        return None
    if not inputs.plan_file:
        return Path(paths[0]) if len(paths) == 1 and is_plan_file(paths[0]) else None
    if Path(inputs.plan_file).is_file():
        return Path(inputs.plan_file)
    if inputs.on_missing_plan == "plan":
        step.annotate(workflow_command("notice", f"the reviewed plan {inputs.plan_file} does not exist: planning again "
                                       "and applying that (on-missing-plan: plan)", title=TITLE))
        return None
    step.annotate(workflow_command(
        "error", f"the reviewed plan {inputs.plan_file} does not exist, so nothing was applied. Download the plan "
        "the pull request's job uploaded (see docs/ci.md), or set on-missing-plan: plan to plan again on merge.",
        title="infrai apply: reviewed plan missing"))
    return step.fail(1)


def _apply(inputs: ActionInputs, env: Mapping[str, str], runner: Runner, step: _Step, plan_path: Path,
           conn: list[str], args: list[str]) -> int:
    """`apply PLANFILE --format json`: the report feeds the log, the summary and the outputs."""
    reviewed = inputs.plan_file or None
    run = runner(["apply", str(plan_path), *conn, "--auto-approve", "--no-color", "--format", "json", *args], env)
    report = _json(run.stdout)
    if report:
        step.log(group(f"Apply: {inputs.name}", apply_log(report)))
        for note in report.get("notes") or []:
            step.log(str(note))
        step.summary(apply_summary(report, inputs.name, str(plan_path) if reviewed else None))
    elif run.code:  # refused before any step (stale, auth, gates): say so where people look
        why = (run.error or f"reconcile apply exited with {run.code}").replace("\n", "\n> ")
        step.summary(f"### Infrai apply: {inputs.name}\n\n**Nothing was applied.**\n\n> {why}\n")
    applied_plan = (report or {}).get("plan") or {}
    counts = applied_plan.get("summary") or {}
    steps = (report or {}).get("counts") or {}
    gone = int(counts.get("delete", 0)) + int(counts.get("replace", 0))
    if run.code and not run.annotated:
        step.annotate(failure_annotation("apply", run))
    step.outputs({"has_changes": bool(applied_plan.get("changes")),
                  **{k: int(counts.get(k, 0)) for k in ("create", "update", "replace", "delete", "rotate")},
                  "destroys": gone > 0, "destroy_count": gone,
                  "drift": sum(1 for u in applied_plan.get("unmanaged") or [] if u.get("drift")),
                  "failing_checks": sum(1 for c in report_checks(report or {}) if c.failing),
                  "applied": int(steps.get("succeeded", 0)),
                  "failed": int(steps.get("failed", 0)), "plan_path": plan_path, "exitcode": run.code})
    return run.code


def publish_comment(inputs: ActionInputs, env: Mapping[str, str], body: str, plan: Plan, step: _Step,
                    http: httpx.Client | None = None) -> str:
    """Create or edit this environment's PR comment (and the destroy label); returns its URL.
    Outside a pull request it does nothing; without a token or with a read-only one (a
    fork's pull request) it says so with a notice and the plan stays in the job summary."""
    pr = pull_request_from_env(env)
    if pr is None:
        return ""
    token = inputs.github_token or env.get("GITHUB_TOKEN", "")
    if not token:
        _degrade(step, "notice", f"no GitHub token (the github-token input or GITHUB_TOKEN), so the plan was not "
                 f"commented on pull request #{pr.number}; it is in the job summary")
        return ""
    try:
        with GitHub(token, http=http) as gh:
            done = gh.upsert_comment(pr, marker(inputs.name), body)
            step.log(f"PR comment {done.action}: {done.url or done.id}")
            if inputs.destroy_label:
                gh.set_label(pr, inputs.destroy_label, bool(plan_outputs(plan)["destroys"]))
            return done.url
    except GitHubError as exc:
        why = (" (a pull request from a fork gets a read-only token; or the job lacks pull-requests: write)"
               if exc.read_only else "")
        _degrade(step, "notice" if exc.read_only else "warning",
                 f"could not comment on pull request #{pr.number}{why}: {exc}; the plan is in the job summary")
        return ""


def _degrade(step: _Step, level: str, message: str) -> None:
    step.annotate(workflow_command(level, message, title="infrai plan comment"))
    step.summary(f"\n> **Note:** {message}.\n")


def _json(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _with_results(plan: Plan, document: Mapping[str, Any] | None) -> Plan:
    """A saved plan keeps no impacts (they come from live usage; an apply assesses them
    again): take them, and the check results, from the JSON plan of the same run, for the
    comment, the annotations and the `--fail-on` gate."""
    impacts = tuple(Impact.from_data(i) for i in (document or {}).get("impacts") or [])
    checks = tuple(CheckResult.from_data(c) for c in (document or {}).get("checks") or [])
    return dataclasses.replace(plan, impacts=impacts or plan.impacts, checks=checks or plan.checks)


def _plan_counts_line(document: Mapping[str, Any]) -> str:
    n = document.get("summary") or {}
    return "Plan: " + ", ".join(f"{n.get(k, 0)} to {k}" for k in ("create", "update", "replace", "delete", "rotate"))
