"""`reconcile apply`: make the account match the configuration, or apply a saved plan.

Parse the flags, build an ApplyRequest, call `reconcile.workflow.run.apply`, print what it
reports; the workflow itself (journal replay, gates, confirmation, settlement) is there.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from ..apply import ApplyEvent, ApplyReport, FileSink
from ..apply.journal import default_journal_path
from ..apply.secrets import SecretSink, sinks_from_settings
from ..errors import ApplyError, UsageError
from ..plan import Plan
from ..render import events as ui
from ..render import render_plan_text, render_report_text, report_document
from ..render.checks import check_lines
from ..workflow.gates import check_results
from ..workflow.events import Note, PlanReady, StepsFinished, StepsStarting, WorkflowEvent
from ..workflow.planfile import is_plan_file, load_plan
from ..workflow.run import ApplyRequest, ApplyResult
from ..workflow.run import apply as workflow_apply
from .common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Out,
    config_options,
    connection_options,
    gate_options,
    gate_settings,
    handle_errors,
    load_desired,
    pick_color,
    plan_options,
)
from .confirm import confirm
from .git_guard import check_secrets_files
from .jsonui import JSON_OPTION, emit, emit_checks, emit_line, emit_plan, json_diagnostics
from .progress import ApplyProgress
from .signals import cancelling
from .wiring import Connection, default_recovery_path, open_client, run_options


@click.command()
@config_options
@connection_options
@plan_options
@click.option("--auto-approve", is_flag=True, envvar="INFRAI_AUTO_APPROVE", help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Apply even past the delete/replace safety threshold.")
@click.option("--keep-going", is_flag=True, help="After a failure, skip only what depends on it.")
@click.option("--atomic", is_flag=True, help="After a failure, undo the reversible steps this apply made.")
@click.option("--secrets-out", type=click.Path(dir_okay=False), envvar="INFRAI_SECRETS_OUT",
              help="Write secrets returned once to this file (0600; JSON, or dotenv for *.env).")
@click.option("--secret-sink-exec", "sink_exec", multiple=True, metavar="COMMAND",
              help="Also give each new secret to this command on stdin (run by /bin/sh; context in INFRAI_SECRET_* env).")
@click.option("--show-secrets", is_flag=True, help="Also print new secrets on stdout (never do this in CI).")
@click.option("--allow-tracked-secrets", is_flag=True,
              help="Write secrets even to a file git would commit (inside a work tree and not ignored).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@JSON_OPTION
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False), envvar="INFRAI_JOURNAL",
              help="Crash journal (default .infrai-journal.jsonl next to --secrets-out, else here); docs/journal.md.")
@gate_options
@handle_errors
@json_diagnostics
def apply(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
          local_db: str | None, parallelism: int, retries: int, retry_delay: float, prune: tuple[str, ...], targets: tuple[str, ...],
          replace: tuple[str, ...], color: str, no_color: bool, auto_approve: bool, force: bool, keep_going: bool, atomic: bool,
          secrets_out: str | None, sink_exec: tuple[str, ...], show_secrets: bool, fmt: str, journal_path: str | None = None,
          json_events: bool = False, allow_tracked_secrets: bool = False) -> int:
    """Make the account match the configuration (PATHS), or apply a saved plan (PLANFILE)."""
    if json_events and (show_secrets or fmt == "json"):
        raise UsageError("--json streams events on stdout: it cannot be combined with --show-secrets or --format json")
    fmt = "events" if json_events else fmt
    colored = pick_color(color, no_color) and fmt == "text"
    out = Out(colored)
    saved = load_plan(paths[0]) if len(paths) == 1 and is_plan_file(paths[0]) else None
    policy_file, fail_on = gate_settings()
    request = ApplyRequest(
        desired=None if saved else load_desired(paths, var_pairs, var_files), saved=saved,
        options=run_options(parallelism, retries, retry_delay), prune=prune, targets=targets, replace=replace,
        policy_file=policy_file, fail_on=fail_on, force=force, keep_going=keep_going, atomic=atomic,
        auto_approve=auto_approve, journal_path=journal_path or default_journal_path(secrets_out),
        recovery_path=default_recovery_path(secrets_out))
    shown: list[Any] = []
    sinks = _sinks(request, sink_exec, secrets_out, shown if show_secrets else None)
    # Before any API call: a secrets file git would commit is refused (docs/secrets.md).
    file_sinks = [s.path for s in sinks if isinstance(s, FileSink)]
    for warning in check_secrets_files(file_sinks or [Path(request.recovery_path)], allow=allow_tracked_secrets,
                                       logs_beside=file_sinks):
        out.info(warning)
    screen = _Screen(out, fmt, colored)
    try:
        with open_client(Connection(endpoint, local_db, request.options)) as client:
            result = workflow_apply(client, request, on_event=screen, secrets=sinks, cancel=screen.cancel,
                                    confirm=lambda plan: _confirm(plan, out, json_events))
    except ApplyError as exc:  # failed, interrupted, or a lost secret: the report says which
        if not isinstance(exc.result, ApplyResult):
            raise
        result = exc.result
    finally:
        screen.close()
    _print_result(out, fmt, colored, result, shown)
    if result.interrupted:
        out.info(interrupted_line(result.report))
        return EXIT_INTERRUPTED
    if result.ok:
        check_results(result.checks, fail_on, applied=True)  # exit 4: applied, but a check failed
    return EXIT_OK if result.ok else EXIT_ERROR


def _sinks(request: ApplyRequest, sink_exec: tuple[str, ...], secrets_out: str | None,
           shown: list[Any] | None) -> list[SecretSink]:
    """`--secrets-out`, the config's sinks, `--secret-sink-exec`; with `--show-secrets` also
    standard output (and, when nothing else is given, the default file: it still gets them)."""
    sinks = sinks_from_settings(request.settings.get("secrets") or {}, exec_flags=sink_exec, file_flag=secrets_out)
    if shown is not None:
        if not sinks:
            sinks.append(FileSink(default_recovery_path(None)))
        sinks.append(_MemorySink(shown))
    return sinks


class _Screen:
    """What the workflow reports, shown: notes on stderr, the plan, progress while steps
    run (with Ctrl-C/SIGTERM only setting `cancel` meanwhile)."""

    def __init__(self, out: Out, fmt: str, colored: bool):
        self.out, self.fmt, self.colored = out, fmt, colored
        self.cancel = threading.Event()
        self._steps = contextlib.ExitStack()
        self._on_step: Callable[[ApplyEvent], None] | None = None

    def __call__(self, event: WorkflowEvent) -> None:
        if isinstance(event, Note):
            self.out.info(event.text)
        elif isinstance(event, PlanReady) and self.fmt == "text":
            self.out.result(render_plan_text(event.plan, style=click.style if self.colored else None))
        elif isinstance(event, PlanReady) and self.fmt == "events":
            emit_plan(event.plan)
        elif isinstance(event, StepsStarting):
            self._on_step = self._steps.enter_context(_progress(self.out, self.fmt, event.total))
            self._steps.enter_context(cancelling(self.cancel))
        elif isinstance(event, StepsFinished):
            self.close()
        elif isinstance(event, ApplyEvent) and self._on_step is not None:
            self._on_step(event)

    def close(self) -> None:
        self._on_step = None
        self._steps.close()


def _print_result(out: Out, fmt: str, colored: bool, result: ApplyResult, shown: list[Any]) -> None:
    report = result.report
    checked = result.checks
    if fmt == "json":
        out.result(json.dumps({**report_document(report, result.plan), "checks": [c.to_data() for c in checked]},
                              indent=2))
    elif fmt == "events":
        for note in report.notes:
            emit(ui.diagnostic(note, level="info"))
        emit_checks(checked)
        emit(ui.apply_summary(report, result.plan))
    elif result.plan.has_changes:
        style = click.style if colored else None
        out.result(render_report_text(report, style=style)
                   + "".join(line + "\n" for line in check_lines(checked, style or (lambda text, **_: text))))
    # After the report in text; alone when nothing changed (a secret the journal recovered).
    for secret in shown if fmt == "text" or not result.plan.has_changes else ():
        out.result(f"{secret.address}.{secret.field} = {secret.value}")


def interrupted_line(report: ApplyReport) -> str:
    """The one line a Ctrl-C leaves: what finished, what did not start, what to do next."""
    n = report.counts()
    total = len(report.results)
    finished = f"{n['succeeded']} of {total} step(s) done"
    if n["failed"]:
        finished += f", {n['failed']} failed"
    if n["skipped"]:
        finished += f", {n['skipped']} skipped"
    return (f"Interrupted: {finished}, {n['not_started']} not started; the steps in flight finished, "
            "nothing is half done. Run apply again to continue.")


class _MemorySink:
    def __init__(self, into: list[Any]):
        self.into = into

    def put(self, secret: Any) -> None:
        self.into.append(secret)

    def __str__(self) -> str:
        return "standard output (--show-secrets)"


def _confirm(plan: Plan, out: Out, json_events: bool) -> bool:
    if json_events:
        raise UsageError("--json needs --auto-approve: there is no prompt in a machine-readable run")
    irreversible = [c.address for c in plan.changes if c.irreversible]

    def weigh() -> None:
        if irreversible:
            out.info(f"These steps cannot be undone: {', '.join(irreversible)}")

    return confirm("Apply these changes?", to="apply it", review=True, before=weigh)


@contextlib.contextmanager
def _progress(out: Out, fmt: str, total: int, **kw: Any) -> Iterator[Callable[[ApplyEvent], None]]:
    """Progress while apply runs (reconcile/cli/progress.py): a status line on a terminal,
    timestamped heartbeats in logs, apply_* events with --json, nothing with --format json."""
    stream = sys.stderr
    mode = {"events": "json", "json": "off"}.get(fmt) or ("tty" if stream.isatty() else "log")
    progress = ApplyProgress(total, stream, mode=mode, json_out=emit_line, **kw)
    progress.start()
    try:
        with progress.routing_logs():
            yield progress.on_event
    finally:
        progress.stop()
