"""`reconcile`: the command line. The only code that prints or chooses exit codes.

Exit codes: 0 success; 1 error (bad config, API failure, unsafe plan, failed apply);
2 with `--detailed-exitcode` when the plan has changes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from .. import __version__
from ..apply import ApplyEvent, FileSink, SecretRouter, StepStatus
from ..apply.secrets import SecretSink
from ..engine import apply_plan, check_plan, make_plan, prune_kinds, replan_saved
from ..plan.saved import is_plan_file, load_plan, write_plan
from ..errors import ReconcileError, ValidationError
from ..plan import Plan
from ..render import plan_document, render_plan_markdown, render_plan_text, render_report_text, report_document
from .wiring import DEFAULT_LOCAL_DB, Connection, default_recovery_path, open_client, use_color

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


class Out:
    """Where output goes: stdout for the result, stderr for progress and errors."""

    def __init__(self, color: bool):
        self.color = color

    def result(self, text: str) -> None:
        click.echo(text, nl=not text.endswith("\n"))

    def info(self, text: str) -> None:
        click.echo(text, err=True)

    def error(self, text: str) -> None:
        click.echo(click.style("Error: ", fg="red", bold=True) + text if self.color else f"Error: {text}", err=True)


def handle_errors(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Turn our errors into a message and exit 1: never a traceback for a user's mistake."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        out = Out(use_color(kwargs.get("color", "auto"), sys.stderr))
        try:
            code = fn(*args, **kwargs)
        except ValidationError as exc:
            out.error(str(exc))
            sys.exit(EXIT_ERROR)
        except ReconcileError as exc:
            out.error(str(exc))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            out.error("interrupted")
            sys.exit(130)
        sys.exit(code or EXIT_OK)

    return wrapper


# -- shared options -----------------------------------------------------------------
def config_options(fn: Callable) -> Callable:
    fn = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))(fn)
    fn = click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Set ${var:NAME}.")(fn)
    fn = click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
                      help="YAML file of variables for ${var:NAME}; later files win.")(fn)
    return fn


def connection_options(fn: Callable) -> Callable:
    fn = click.option("--endpoint", envvar="INFRAI_BASE_URL", help="API base URL (env INFRAI_BASE_URL).")(fn)
    fn = click.option("--local", "local_db", is_flag=False, flag_value=DEFAULT_LOCAL_DB, default=None,
                      metavar="[DB]", help=f"Use the embedded emulator with this SQLite file (default {DEFAULT_LOCAL_DB}).")(fn)
    fn = click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
                      envvar="INFRAI_PARALLELISM", help="Concurrent API calls.")(fn)
    fn = click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True, envvar="INFRAI_RETRIES",
                      help="Retries of a failed call (connection errors, 429, 5xx; writes only with their idempotency key).")(fn)
    fn = click.option("--retry-delay", type=click.FloatRange(0, 60), default=0.2, show_default=True,
                      envvar="INFRAI_RETRY_DELAY", help="Base of the exponential backoff, in seconds.")(fn)
    return fn


def plan_options(fn: Callable) -> Callable:
    fn = click.option("--prune", "prune", multiple=True, is_flag=False, flag_value="all",
                      metavar="[KINDS]", help="Delete undeclared live objects (all kinds, or e.g. projects,keys).")(fn)
    fn = click.option("--target", "targets", multiple=True, metavar="ADDRESS",
                      help="Limit to this resource and what it depends on (repeatable).")(fn)
    fn = click.option("--replace", "replace", multiple=True, metavar="ADDRESS",
                      help="Replace (or, for keys, rotate) this resource even if nothing differs.")(fn)
    fn = click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                      envvar="INFRAI_COLOR", help="Colour output (NO_COLOR/FORCE_COLOR honoured).")(fn)
    fn = click.option("--no-color", "no_color", is_flag=True, help="Same as --color never.")(fn)
    return fn


def _load(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...]) -> Any:
    from ..config import load_config

    variables = {}
    for pair in var_pairs:
        if "=" not in pair:
            raise ReconcileError(f"--var {pair!r}: expected NAME=VALUE")
        name, value = pair.split("=", 1)
        variables[name] = value
    return load_config(list(paths), variables=variables, var_files=list(var_files))


def _color(color: str, no_color: bool) -> bool:
    return use_color("never" if no_color else color)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "INFRAI"})
@click.version_option(__version__, prog_name="infrai-reconcile")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for HTTP calls).")
def cli(verbose: int) -> None:
    """Infrastructure-as-code for the Infrai account API.

    Declare projects, keys, webhooks, budgets, routing and alerts in YAML; `validate` it,
    `plan` to see what would change, `apply` to make the account match.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@cli.command()
@config_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto")
@handle_errors
def validate(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], fmt: str,
             color: str) -> int:
    """Check configuration files offline: schema, references, duplicates."""
    out = Out(use_color(color))
    try:
        desired = _load(paths, var_pairs, var_files)
    except ValidationError as exc:
        if fmt == "json":
            out.result(json.dumps({"valid": False, "errors": [
                {"message": r.message, "path": r.path, "file": r.source.file if r.source else None,
                 "line": r.source.line if r.source else None, "column": r.source.column if r.source else None}
                for r in exc.reasons]}, indent=2))
            return EXIT_ERROR
        raise
    if fmt == "json":
        out.result(json.dumps({"valid": True, "errors": [], "resources": len(desired.resources)}, indent=2))
    else:
        out.result(f"Configuration is valid: {len(desired.resources)} resources in {len(desired.sources)} file(s).")
    return EXIT_OK


def _render(plan: Plan, fmt: str, color: bool) -> str:
    if fmt == "json":
        return json.dumps(plan_document(plan), indent=2, sort_keys=False) + "\n"
    if fmt == "markdown":
        return render_plan_markdown(plan)
    return render_plan_text(plan, color=color)


@cli.command()
@config_options
@connection_options
@plan_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes (drift).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Save the plan for `apply PLANFILE`.")
@handle_errors
def plan(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
         local_db: str | None, parallelism: int, retries: int, retry_delay: float, prune: tuple[str, ...], targets: tuple[str, ...],
         replace: tuple[str, ...], color: str, no_color: bool, fmt: str, detailed_exitcode: bool,
         out_file: str | None) -> int:
    """Show what apply would change, without changing anything."""
    desired = _load(paths, var_pairs, var_files)
    with open_client(Connection(endpoint, local_db, parallelism, retries, retry_delay)) as client:
        planned = make_plan(client, desired, prune=prune_kinds(prune), targets=targets, replace=replace)
    check_plan(planned, force=True)  # protections fail the plan too; thresholds only stop apply
    Out(_color(color, no_color)).result(_render(planned.plan, fmt, _color(color, no_color)))
    if out_file:
        write_plan(out_file, planned.plan, {"prune": sorted(prune_kinds(prune)), "targets": list(targets),
                                            "replace": list(replace), "files": list(desired.sources)})
        Out(False).info(f"Saved the plan to {out_file}. Apply exactly these steps with: reconcile apply {out_file}")
    if detailed_exitcode and planned.plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@config_options
@connection_options
@plan_options
@click.option("--auto-approve", is_flag=True, envvar="INFRAI_AUTO_APPROVE", help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Apply even past the delete/replace safety threshold.")
@click.option("--keep-going", is_flag=True, help="After a failure, skip only what depends on it.")
@click.option("--secrets-out", type=click.Path(dir_okay=False), envvar="INFRAI_SECRETS_OUT",
              help="Write secrets returned once to this file (0600; JSON, or dotenv for *.env).")
@click.option("--show-secrets", is_flag=True, help="Also print new secrets on stdout (never do this in CI).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def apply(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
          local_db: str | None, parallelism: int, retries: int, retry_delay: float, prune: tuple[str, ...], targets: tuple[str, ...],
          replace: tuple[str, ...], color: str, no_color: bool, auto_approve: bool, force: bool, keep_going: bool,
          secrets_out: str | None, show_secrets: bool, fmt: str) -> int:
    """Make the account match the configuration (PATHS), or apply a saved plan (PLANFILE)."""
    colored = _color(color, no_color) and fmt == "text"
    out = Out(colored)
    saved = load_plan(paths[0]) if len(paths) == 1 and is_plan_file(paths[0]) else None
    desired = None if saved else _load(paths, var_pairs, var_files)
    with open_client(Connection(endpoint, local_db, parallelism, retries, retry_delay)) as client:
        if saved is not None:
            planned = replan_saved(client, saved, force=force)
            if planned.already_done:
                out.info(f"{len(planned.already_done)} step(s) of the saved plan are already applied: "
                         + ", ".join(planned.already_done))
        else:
            planned = make_plan(client, desired, prune=prune_kinds(prune), targets=targets, replace=replace)
            check_plan(planned, force=force)
        if fmt == "text":
            out.result(render_plan_text(planned.plan, color=colored))
        if not planned.plan.has_changes:
            if fmt == "json":
                out.result(json.dumps(report_document(_empty_report(), planned.plan), indent=2))
            return EXIT_OK
        if not auto_approve:
            _confirm(planned.plan, out)
        sinks: list[SecretSink] = [FileSink(secrets_out)] if secrets_out else []
        shown: list[Any] = []
        if show_secrets:
            sinks.append(_MemorySink(shown))
        router = SecretRouter(sinks, default_recovery_path(secrets_out))
        with _progress(out, fmt == "text", len(planned.plan.changes)) as on_event:
            report = apply_plan(client, planned.plan, planned.live, parallelism=parallelism,
                                keep_going=keep_going, secrets=router, on_event=on_event,
                                idempotency_seed=planned.idempotency_seed)
    if router.delivered:
        where = secrets_out or str(default_recovery_path(None))
        report.notes.append(f"{len(router.delivered)} secret(s) written to {where} (mode 0600).")
    if fmt == "json":
        out.result(json.dumps(report_document(report, planned.plan), indent=2))
    else:
        out.result(render_report_text(report, color=colored))
        for secret in shown:
            out.result(f"{secret.address}.{secret.field} = {secret.value}")
    return EXIT_OK if report.ok else EXIT_ERROR


class _MemorySink:
    def __init__(self, into: list[Any]):
        self.into = into

    def put(self, secret: Any) -> None:
        self.into.append(secret)


def _empty_report() -> Any:
    from ..apply import ApplyReport

    return ApplyReport([])


def _confirm(plan: Plan, out: Out) -> None:
    if not sys.stdin.isatty():
        raise ReconcileError("refusing to prompt for confirmation: standard input is not a terminal. "
                             "Review the plan and pass --auto-approve to apply it non-interactively.")
    irreversible = [c.address for c in plan.changes if c.irreversible]
    if irreversible:
        out.info(f"These steps cannot be undone: {', '.join(irreversible)}")
    answer = click.prompt("Apply these changes? Only 'yes' will be accepted", default="", show_default=False)
    if answer.strip() != "yes":
        raise ReconcileError("apply cancelled; nothing was changed")


@contextlib.contextmanager
def _progress(out: Out, enabled: bool, total: int) -> Iterator[Callable[[ApplyEvent], None]]:
    done = 0

    def on_event(event: ApplyEvent) -> None:
        nonlocal done
        if not enabled or event.status in (StepStatus.RUNNING, StepStatus.PENDING):
            return
        done += 1
        out.info(f"[{done}/{total}] {event.change.address}: {event.change.action.value} {event.status.value}"
                 + (f" ({event.elapsed_ms} ms)" if event.elapsed_ms else ""))

    yield on_event


def _register_emulator() -> None:
    try:
        from ..emulator.cli import emulator_cli
    except ImportError:  # pragma: no cover - the emulator ships with the package
        return
    cli.add_command(emulator_cli, "emulator")


_register_emulator()


def main() -> None:
    cli(prog_name="reconcile")


if __name__ == "__main__":  # pragma: no cover
    main()
