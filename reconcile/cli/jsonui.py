"""`--json` on plan and apply: the event stream on stdout (reconcile/render/events.py has
the messages; docs/json-events.md documents them). Logs and errors still go to stderr."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import click

from ..errors import ReconcileError, ValidationError
from ..plan import Plan
from ..redact import RUN_SECRETS
from ..render import events as ui

_lock = threading.Lock()

JSON_OPTION = click.option("--json", "json_events", is_flag=True, envvar="INFRAI_JSON",
                           help="Stream machine-readable events, one JSON object per line (docs/json-events.md).")


def emit_line(text: str) -> None:
    # The executor's thread and the progress ticker both emit: one line at a time.
    with _lock:
        click.echo(text)


def emit(msg: dict[str, Any]) -> None:
    emit_line(ui.line(msg))


def emit_plan(plan: Plan) -> None:
    for change in plan.changes:
        emit(ui.planned_change(change))
    for undeclared in plan.drift:
        emit(ui.resource_drift(undeclared))
    for warning in plan.warnings:
        emit(ui.diagnostic(warning, level="warn"))
    emit_checks(plan.checks)
    emit(ui.plan_summary(plan))


def emit_checks(results: Sequence[Any]) -> None:
    """One `diagnostic` per check result (plan: the previews; apply: the after-apply checks)."""
    for result in results:
        emit(ui.check_diagnostic(result))


def json_diagnostics(fn: Callable[..., int | None]) -> Callable[..., int | None]:
    """With `--json`: the version message first, and every error as `diagnostic` messages
    before the usual message on stderr and exit 1 (handle_errors)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> int | None:
        if not kwargs.get("json_events"):
            return fn(*args, **kwargs)
        emit(ui.version_message())
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for reason in exc.reasons:
                emit(ui.reason_diagnostic(reason))
            raise
        except ReconcileError as exc:
            text = RUN_SECRETS.redact(str(exc))
            emit(ui.diagnostic(text.splitlines()[0] if text else type(exc).__name__, text))
            raise

    return wrapper
