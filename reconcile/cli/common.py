"""What every command shares: output streams, error handling, option groups, loading.

Exit codes: 0 success; 1 error (bad config, API failure, unsafe plan, failed apply);
2 with `--detailed-exitcode` when the plan has changes; 3 the plan breaks a `--policy`
rule; 4 an impact, a failing check or a `status` finding at or above `--fail-on` (3 and 4
stop apply before any API call); 130 interrupted (Ctrl-C). Usage errors exit 1 too
(main.ReconcileGroup).
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import Any, Callable, TypeVar

import click

from ..errors import ReconcileError, ValidationError
from ..redact import RUN_SECRETS

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERRUPTED = 0, 1, 2, 130

DEFAULT_LOCAL_DB = ".infrai-local.db"
#: Prefix of the click context keys the network options are kept under (cli/wiring.py
#: builds the run's options from them).
BOUNDS_META = "reconcile.net."


def use_color(choice: str, stream: object = None) -> bool:
    """`--color auto|always|never`, honouring NO_COLOR and FORCE_COLOR like most CLIs."""
    if choice == "never":
        return False
    if choice == "always":
        return True
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class Out:
    """Where output goes: stdout for the result, stderr for progress and errors."""

    def __init__(self, color: bool):
        self.color = color

    # color= decides, not click: it would strip styles from any non-terminal stream, so
    # FORCE_COLOR and --color always would never reach a CI log.
    def result(self, text: str) -> None:
        click.echo(text, nl=not text.endswith("\n"), color=self.color)

    def info(self, text: str) -> None:
        click.echo(text, err=True, color=self.color)

    def error(self, text: str) -> None:
        click.echo(click.style("Error: ", fg="red", bold=True) + text if self.color else f"Error: {text}", err=True,
                   color=self.color)


def handle_errors(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Turn our errors into a message and exit 1: never a traceback for a user's mistake."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        choice = "never" if kwargs.get("no_color") else kwargs.get("color", "auto")
        out = Out(use_color(choice, sys.stderr))
        try:
            code = fn(*args, **kwargs)
        except ValidationError as exc:
            out.error(RUN_SECRETS.redact(str(exc)))
            sys.exit(EXIT_ERROR)
        except ReconcileError as exc:
            out.error(RUN_SECRETS.redact(str(exc)))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            out.error("interrupted")
            exit_now_if_reads_are_stuck(EXIT_INTERRUPTED)
            sys.exit(EXIT_INTERRUPTED)
        except OSError as exc:  # a file given on the command line cannot be written or read
            out.error(RUN_SECRETS.redact(os_error_message(exc)))
            sys.exit(EXIT_ERROR)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (MemoryError, Exception) as exc:  # noqa: BLE001 - never a traceback, even for our bug
            out.error(internal_error_message(exc))
            sys.exit(EXIT_ERROR)
        sys.exit(code or EXIT_OK)

    return wrapper


def internal_error_message(exc: BaseException) -> str:
    """One line for what should never happen; the traceback only in the -vv log."""
    import logging

    logging.getLogger("reconcile").debug("internal error", exc_info=exc)
    if isinstance(exc, MemoryError):
        return ("ran out of memory. If an answer of the API is that large, lower --max-response-mib or "
                "--max-list-items; otherwise this is a bug in infrai-reconcile: please report it with the command "
                "you ran (-vv logs the traceback)")
    detail = RUN_SECRETS.redact(" ".join(str(exc).split()))[:300]
    return (f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}. This is a bug in "
            "infrai-reconcile: please report it with the command you ran (-vv logs the traceback)")


def exit_now_if_reads_are_stuck(code: int) -> None:
    """Exit at once when worker threads are still blocked on the network (a read of a
    server that never answers): the interpreter would otherwise join them at exit, and a
    Ctrl-C would take the whole retry budget to act. Every `with` block of the command
    (journal, lease, secrets file) has already closed by the time the error reaches here,
    and a read has no effect to finish, so nothing is lost."""
    import threading

    main = threading.main_thread()
    if any(t.is_alive() and t is not main and not t.daemon for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def os_error_message(exc: OSError) -> str:
    """`cannot write out/p.json: the directory out does not exist`, never a traceback."""
    name = exc.filename2 if exc.filename2 is not None else exc.filename
    why = exc.strerror or str(exc)
    if name is None:
        return why
    path = os.fsdecode(name) if isinstance(name, (str, bytes)) else str(name)
    parent = os.path.dirname(path) or "."
    if exc.errno == errno.ENOENT and not os.path.isdir(parent):
        return f"cannot write {path}: the directory {parent} does not exist"
    if exc.errno == errno.ENOENT:
        return f"cannot read {path}: {why}"
    return f"cannot open {path}: {why}"


# -- shared options -----------------------------------------------------------------
# The command function each decorator adds options to, returned as it came (as click's own).
FC = TypeVar("FC", bound=Callable[..., Any])


def config_options(fn: FC) -> FC:
    fn = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))(fn)
    fn = click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Set ${var:NAME}.")(fn)
    fn = click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
                      help="YAML file of variables for ${var:NAME}; later files win.")(fn)
    return fn


def connection_options(fn: FC) -> FC:
    # The run's defaults, imported by the commands that connect (`validate` does not).
    from ..workflow.options import DEFAULT_PARALLELISM, DEFAULT_RETRIES, DEFAULT_RETRY_DELAY

    fn = click.option("--endpoint", envvar="INFRAI_BASE_URL", help="API base URL (env INFRAI_BASE_URL).")(fn)
    fn = click.option("--local", "local_db", is_flag=False, flag_value=DEFAULT_LOCAL_DB, default=None,
                      metavar="[DB]", help=f"Use the embedded emulator with this SQLite file (default {DEFAULT_LOCAL_DB}).")(fn)
    fn = click.option("--parallelism", type=click.IntRange(1, 256), default=DEFAULT_PARALLELISM, show_default=True,
                      envvar="INFRAI_PARALLELISM", help="Concurrent API calls.")(fn)
    fn = click.option("--retries", type=click.IntRange(0, 20), default=DEFAULT_RETRIES, show_default=True, envvar="INFRAI_RETRIES",
                      help="Retries of a failed call (connection errors, 429, 5xx; writes only with their idempotency key).")(fn)
    fn = click.option("--retry-delay", type=click.FloatRange(0, 60), default=DEFAULT_RETRY_DELAY, show_default=True,
                      envvar="INFRAI_RETRY_DELAY", help="Base of the exponential backoff, in seconds.")(fn)
    return network_bound_options(fn)


def _remember_bound(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name == "max_response_mib":
        ctx.meta[f"{BOUNDS_META}max_response_bytes"] = int(value * 1024 * 1024)
    elif value is not None:
        ctx.meta[f"{BOUNDS_META}{param.name}"] = value
    return value


def network_bound_options(fn: FC) -> FC:
    """Time and size bounds of API calls (docs/network.md), kept in the click context for
    `open_client` so the commands' signatures stay as they are."""
    bounds: list[tuple[str, str, click.ParamType[Any], str]] = [
        ("--timeout", "INFRAI_TIMEOUT", click.FloatRange(0.1, 3600),
         "Seconds one attempt of an API call may take in all, connecting to the last byte [default: 15]."),
        ("--connect-timeout", "INFRAI_CONNECT_TIMEOUT", click.FloatRange(0.1, 600),
         "Seconds to connect to the API [default: 5]."),
        ("--max-retry-wait", "INFRAI_MAX_RETRY_WAIT", click.FloatRange(0, 3600),
         "Longest Retry-After honoured, in seconds; a longer one fails the call at once [default: 60]."),
        ("--retry-budget", "INFRAI_RETRY_BUDGET", click.FloatRange(0, 86400),
         "Seconds a call may go on retrying, from its first attempt [default: 60]."),
        ("--max-response-mib", "INFRAI_MAX_RESPONSE_MIB", click.FloatRange(0.001, 65536),
         "Largest API answer accepted, decoded, in MiB [default: 64]."),
        ("--max-list-items", "INFRAI_MAX_LIST_ITEMS", click.IntRange(1),
         "Most items one list may return [default: 100000]."),
        ("--max-list-pages", "INFRAI_MAX_LIST_PAGES", click.IntRange(1),
         "Most pages one list may take [default: 1000]."),
    ]
    for flag, env, kind, text in reversed(bounds):
        fn = click.option(flag, type=kind, envvar=env, expose_value=False, callback=_remember_bound,
                          help=text)(fn)
    return fn


def plan_options(fn: FC) -> FC:
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


def parse_var_pairs(var_pairs: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in var_pairs:
        if "=" not in pair:
            raise ReconcileError(f"--var {pair!r}: expected NAME=VALUE")
        name, value = pair.split("=", 1)
        variables[name] = value
    return variables


def load_desired(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...]) -> Any:
    from ..workflow.run import load

    desired = load(paths, variables=parse_var_pairs(var_pairs), var_files=var_files)
    warn_empty_files(desired, Out(use_color("auto", sys.stderr)))
    return desired


def warn_empty_files(desired: Any, out: Out) -> None:
    """A config file that declares nothing is valid (and plans no change without --prune),
    but is most often a wrong path: say so on stderr, naming each such file."""
    for file in desired.empty_sources:
        out.info(f"Warning: {file} declares no resources or settings: is this the right path?")


def pick_color(color: str, no_color: bool) -> bool:
    return use_color("never" if no_color else color)


# -- gates: --policy and --fail-on (plan and apply) ------------------------------------------
def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"reconcile.gate.{param.name}"] = value
    return value


def gate_options(fn: FC) -> FC:
    """`--policy FILE` and `--fail-on warning|danger`, kept in the click context (read back
    by `gate_settings`) so the commands' signatures stay as they are."""
    fn = click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False), envvar="INFRAI_POLICY",
                      expose_value=False, callback=_remember,
                      help="Policy rules (docs/policy.md) the plan must pass; a violation exits 3 before any change.")(fn)
    fn = click.option("--fail-on", "fail_on", type=click.Choice(["warning", "danger"]), envvar="INFRAI_FAIL_ON",
                      expose_value=False, callback=_remember,
                      help="Exit 4 (apply: before any change) when an impact (docs/impact.md) is at least this severe, "
                           "or a check (docs/checks.md) fails: any with warning, `severity: fail` ones with danger.")(fn)
    return fn


def gate_settings() -> tuple[str | None, str | None]:
    """(`--policy`, `--fail-on`) of the current command, kept in the click context."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    return meta.get("reconcile.gate.policy_file"), meta.get("reconcile.gate.fail_on")
