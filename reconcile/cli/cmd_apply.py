"""`reconcile apply`: make the account match the configuration, or apply a saved plan."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any, Callable, Iterator

import click

from ..apply import ApplyEvent, ApplyReport, FileSink, SecretRouter
from ..apply.journal import ApplyJournal, default_journal_path, recover
from ..apply.secrets import SecretSink, sinks_from_settings
from ..workflow.engine import apply_plan, check_plan, holding_account_lease, make_plan, prune_kinds, replan_saved
from ..errors import ReconcileError
from ..plan import Plan
from ..workflow.planfile import is_plan_file, load_plan
from ..render import events as ui
from ..render import render_plan_text, render_report_text, report_document
from ..render.checks import check_lines
from ..workflow.checks import apply_checks
from .common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Out,
    config_options,
    connection_options,
    gate_options,
    handle_errors,
    load_desired,
    pick_color,
    plan_options,
    run_check_gate,
    run_gates,
)
from .git_guard import check_secrets_files
from .jsonui import JSON_OPTION, emit, emit_line, emit_plan, json_diagnostics
from .progress import ApplyProgress
from .wiring import Connection, default_recovery_path, open_client


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
        raise ReconcileError("--json streams events on stdout: it cannot be combined with --show-secrets or --format json")
    if json_events:
        fmt = "events"
    colored = pick_color(color, no_color) and fmt == "text"
    out = Out(colored)
    saved = load_plan(paths[0]) if len(paths) == 1 and is_plan_file(paths[0]) else None
    desired = None if saved else load_desired(paths, var_pairs, var_files)
    sinks: list[SecretSink] = sinks_from_settings(
        (desired.settings.get("secrets") if desired is not None else saved.options.get("secrets") if saved else None) or {},
        exec_flags=sink_exec, file_flag=secrets_out)
    shown: list[Any] = []
    if show_secrets:
        if not sinks:
            # --show-secrets also prints; the secrets still go to the default file.
            sinks.append(FileSink(default_recovery_path(None)))
        sinks.append(_MemorySink(shown))
    router = SecretRouter(sinks, default_recovery_path(secrets_out))
    # Before any API call: a secrets file git would commit is refused (docs/secrets.md).
    file_sinks = [s.path for s in sinks if isinstance(s, FileSink)]
    files = file_sinks or [router.recovery.path]
    for warning in check_secrets_files(files, allow=allow_tracked_secrets, logs_beside=file_sinks):
        out.info(warning)
    with router, open_client(Connection(endpoint, local_db, parallelism, retries, retry_delay)) as client, \
            ApplyJournal(journal_path or default_journal_path(secrets_out)) as journal, \
            holding_account_lease(client, journal) as lease:  # one apply per account (docs/journal.md)
        shown_lease_note = lease.note
        if lease.note:
            out.info(lease.note)
        # Before planning: a secret lost by an interrupted apply is recovered (docs/journal.md).
        recovery = recover(journal, client, router, read_live=lambda c: make_plan_live(c, parallelism))
        for note in recovery.notes:
            out.info(note)
        if saved is not None:
            planned = replan_saved(client, saved, force=force, parallelism=parallelism)
            if planned.already_done:
                out.info(f"{len(planned.already_done)} step(s) of the saved plan are already applied: "
                         + ", ".join(planned.already_done))
        else:
            planned = make_plan(client, desired, prune=prune_kinds(prune), targets=targets, replace=replace,
                                parallelism=parallelism)
            check_plan(planned, force=force)
        if fmt == "text":
            out.result(render_plan_text(planned.plan, style=click.style if colored else None))
        elif fmt == "events":
            emit_plan(planned.plan)
        run_gates(planned)  # exit 3 (policy) or 4 (--fail-on): stops before any change
        if not planned.plan.has_changes:
            _close_journal(journal, recovery.ok)
            if fmt == "json":
                out.result(json.dumps(report_document(_empty_report(), planned.plan), indent=2))
            elif fmt == "events":
                emit(ui.apply_summary(_empty_report(), planned.plan))
            for secret in shown:
                out.result(f"{secret.address}.{secret.field} = {secret.value}")
            return EXIT_OK if recovery.ok else EXIT_ERROR
        if not auto_approve:
            if json_events:
                raise ReconcileError("--json needs --auto-approve: there is no prompt in a machine-readable run")
            _confirm(planned.plan, out)
        journal.start_run(planned.plan.fingerprint, planned.idempotency_seed)
        with _progress(out, fmt, len(planned.plan.changes)) as on_event:
            report = apply_plan(client, planned.plan, planned.live, parallelism=parallelism,
                                keep_going=keep_going, secrets=router, journal=journal, on_event=on_event,
                                idempotency_seed=planned.idempotency_seed, atomic=atomic, lease=False)
        # Checks (docs/checks.md): prove what was just applied, while the client is open.
        declared = desired.settings if desired is not None else saved.options if saved else {}
        checked = () if report.interrupted else apply_checks(client, planned.plan, report,
                                                             {"checks": declared.get("checks") or {}},
                                                             parallelism=parallelism)
        recovery.settle(journal, {r.change.address for r in report.results if r.status.value == "succeeded"
                                  and r.change.action.value in ("rotate", "replace")})
        _close_journal(journal, report.ok and recovery.ok)
    report.notes.extend(recovery.notes)
    if lease.note and lease.note != shown_lease_note:  # lost while held, or not given back
        report.notes.append(lease.note)
    if router.delivered:
        report.notes.append(f"{len(router.delivered)} secret(s) delivered to {router.describe()}"
                            + (" (mode 0600)." if all(isinstance(x, FileSink) for x in router.sinks) else "."))
    if fmt == "json":
        out.result(json.dumps({**report_document(report, planned.plan), "checks": [c.to_data() for c in checked]},
                              indent=2))
    elif fmt == "events":
        for note in report.notes:
            emit(ui.diagnostic(note, level="info"))
        for c in checked:
            emit(ui.diagnostic(f"check {c.status}: [{c.severity}] {c.address}: {c.message}",
                               level="warning" if c.failing else "info"))
        emit(ui.apply_summary(report, planned.plan))
    else:
        out.result(render_report_text(report, style=click.style if colored else None)
                   + "".join(line + "\n" for line in check_lines(checked, click.style if colored else
                                                                   (lambda text, **_: text))))
        for secret in shown:
            out.result(f"{secret.address}.{secret.field} = {secret.value}")
    if report.interrupted:
        out.info(interrupted_line(report))
        return EXIT_INTERRUPTED
    if report.ok:
        run_check_gate(checked, applied=True)  # exit 4: applied, but a check failed (docs/checks.md)
    return EXIT_OK if report.ok and recovery.ok else EXIT_ERROR


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


def make_plan_live(client: Any, parallelism: int) -> Any:
    from ..live import read_live

    return read_live(client, parallelism=parallelism)


def _close_journal(journal: ApplyJournal, everything_done: bool) -> None:
    """Empty the journal once all is done; else keep only what a next apply must look at."""
    if everything_done:
        journal.complete()
    else:
        journal.compact()


class _MemorySink:
    def __init__(self, into: list[Any]):
        self.into = into

    def put(self, secret: Any) -> None:
        self.into.append(secret)

    def __str__(self) -> str:
        return "standard output (--show-secrets)"


def _empty_report() -> Any:

    return ApplyReport([])


def _confirm(plan: Plan, out: Out) -> None:
    if os.environ.get("CI"):
        # CI runs must never hang on a prompt, even when a pseudo-terminal is attached.
        raise ReconcileError("refusing to prompt for confirmation: CI is set (non-interactive). "
                             "Review the plan and pass --auto-approve (or INFRAI_AUTO_APPROVE=1) to apply it.")
    if not sys.stdin.isatty():
        raise ReconcileError("refusing to prompt for confirmation: standard input is not a terminal. "
                             "Review the plan and pass --auto-approve to apply it non-interactively.")
    irreversible = [c.address for c in plan.changes if c.irreversible]
    if irreversible:
        out.info(f"These steps cannot be undone: {', '.join(irreversible)}")
    try:
        answer = click.prompt("Apply these changes? Only 'yes' will be accepted", default="", show_default=False)
    except click.Abort:  # Ctrl-C or Ctrl-D at the prompt: a plain no, not click's "Aborted!"
        answer = ""
    if answer.strip() != "yes":
        raise ReconcileError("apply cancelled; nothing was changed")


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
