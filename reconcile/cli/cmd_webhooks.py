"""`reconcile webhooks retry|replay ADDRESS`: re-send deliveries, on purpose (the calls are
reconcile/workflow/webhooks.py). Asks for `yes` unless --auto-approve, like apply."""

from __future__ import annotations

from typing import Any, Callable

import click

from ..errors import ReconcileError
from ..workflow.webhooks import Resent, find_webhook, resend
from .common import EXIT_ERROR, EXIT_OK, Out, connection_options, handle_errors
from .confirm import confirm
from .wiring import Connection, open_client, run_options


@click.group("webhooks")
def webhooks() -> None:
    """Operations on webhook deliveries that are events, not declarations (retry, replay)."""


def _line(r: Resent) -> str:
    d = r.delivery
    asked = r.asked or ("the latest failed delivery" if r.action == "retry" else "the latest delivery")
    outcome = "ok" if r.ok else f"failed again: {d.get('error') or d.get('status_code')}"
    return (f"{r.address}: {r.action} of {asked} sent as delivery {d.get('delivery_id')} "
            f"(HTTP {d.get('status_code')}, {outcome})")


def _resend(action: str, address: str, deliveries: tuple[str, ...], auto_approve: bool, endpoint: str | None,
            local_db: str | None, parallelism: int, retries: int, retry_delay: float) -> int:
    out = Out(False)
    with open_client(Connection(endpoint, local_db, run_options(parallelism, retries, retry_delay))) as client:
        hook = find_webhook(client, address, parallelism=parallelism)
        what = ", ".join(deliveries) if deliveries else (
            "the latest failed delivery" if action == "retry" else "the latest delivery")
        if not auto_approve and not confirm(
                f"{action.capitalize()} {what} of {hook.address} (a real request to the receiver)?", to="send it"):
            raise ReconcileError("cancelled; nothing was sent")
        done = resend(client, action, hook, deliveries)
    for r in done:
        out.result(_line(r))
    failed = [r for r in done if not r.ok]
    if failed:
        out.error(f"{len(failed)} of {len(done)} re-sent deliveries failed again: fix the receiver, then retry")
    return EXIT_ERROR if failed else EXIT_OK


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--auto-approve", "--yes", "-y", "auto_approve", is_flag=True, envvar="INFRAI_AUTO_APPROVE",
                      help="Do not ask for confirmation.")(fn)
    fn = connection_options(fn)
    return click.argument("address")(fn)


@webhooks.command("retry")
@_options
@click.option("--delivery", "deliveries", multiple=True, metavar="ID",
              help="A failed delivery to retry (repeatable); default: the latest failed one.")
@handle_errors
def retry(address: str, deliveries: tuple[str, ...], auto_approve: bool, endpoint: str | None, local_db: str | None,
          parallelism: int, retries: int, retry_delay: float) -> int:
    """Send failed deliveries of the webhook at ADDRESS again, as the same message. Exit 1 if one fails again."""
    return _resend("retry", address, deliveries, auto_approve, endpoint, local_db, parallelism, retries, retry_delay)


@webhooks.command("replay")
@_options
@click.option("--delivery", "deliveries", multiple=True, metavar="ID",
              help="A past delivery to replay (repeatable); default: the latest one.")
@handle_errors
def replay(address: str, deliveries: tuple[str, ...], auto_approve: bool, endpoint: str | None, local_db: str | None,
           parallelism: int, retries: int, retry_delay: float) -> int:
    """Send past deliveries of the webhook at ADDRESS again, as new messages. Exit 1 if one fails."""
    return _resend("replay", address, deliveries, auto_approve, endpoint, local_db, parallelism, retries, retry_delay)
