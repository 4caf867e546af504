"""`reconcile adopt`: stamp a stack's ownership marker on existing objects."""

from __future__ import annotations

import contextlib
import threading

import click

from ..errors import ReconcileError
from ..workflow.adopt import adopt as adopt_objects
from ..workflow.events import StepsFinished, StepsStarting, WorkflowEvent
from .common import EXIT_OK, Out, connection_options, handle_errors, load_desired
from .signals import cancelling
from .wiring import Connection, open_client, run_options


@click.command()
@click.argument("addresses", nargs=-1, required=True)
@click.option("--stack", help="The stack taking the objects over.")
@click.option("--config", "config_paths", multiple=True, type=click.Path(exists=True),
              help="Read the stack name from this configuration (file or directory; repeatable).")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False), envvar="INFRAI_JOURNAL",
              help="Crash journal, shared with apply (default .infrai-journal.jsonl here); docs/journal.md.")
@connection_options
@handle_errors
def adopt(addresses: tuple[str, ...], stack: str | None, config_paths: tuple[str, ...], journal_path: str | None,
          endpoint: str | None, local_db: str | None, parallelism: int, retries: int, retry_delay: float) -> int:
    """Stamp a stack's ownership marker on existing objects to take them over.

    ADDRESSES are e.g. `projects.web` or `webhooks["https://hooks.example.com/x"]`.
    """
    if not stack and config_paths:
        stack = load_desired(config_paths, (), ()).stack
    if not stack:
        raise ReconcileError("name the stack: --stack NAME, or --config PATHS whose config sets `stack:`")
    out = Out(False)
    cancel = threading.Event()
    with open_client(Connection(endpoint, local_db, run_options(parallelism, retries, retry_delay))) as client, \
            contextlib.ExitStack() as steps:
        def while_steps_run(event: WorkflowEvent) -> None:  # Ctrl-C lets the stamps in flight finish
            if isinstance(event, StepsStarting):
                steps.enter_context(cancelling(cancel))
            elif isinstance(event, StepsFinished):
                steps.close()

        outcomes = adopt_objects(client, addresses, stack, parallelism=parallelism, journal_path=journal_path,
                                 on_note=out.info, on_event=while_steps_run, cancel=cancel)
    for address, outcome in outcomes:
        out.result(f"{address}: {outcome}")
    return EXIT_OK
