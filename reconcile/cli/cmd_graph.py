"""`reconcile graph`: the plan's changes and their dependencies as Graphviz DOT."""

from __future__ import annotations

import click

from ..render.dot import render_plan_dot
from ..workflow.run import PlanRequest
from ..workflow.run import plan as workflow_plan
from .common import EXIT_OK, Out, config_options, connection_options, handle_errors, load_desired, plan_options
from .wiring import Connection, open_client, run_options


@click.command()
@config_options
@connection_options
@plan_options
@handle_errors
def graph(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
          local_db: str | None, parallelism: int, retries: int, retry_delay: float, prune: tuple[str, ...],
          targets: tuple[str, ...], replace: tuple[str, ...], color: str, no_color: bool) -> int:
    """Print the plan's changes as a DOT digraph (pipe to `dot -Tsvg`); an edge A -> B means B waits for A."""
    request = PlanRequest(load_desired(paths, var_pairs, var_files), options=run_options(parallelism, retries, retry_delay),
                          prune=prune, targets=targets, replace=replace)
    with open_client(Connection(endpoint, local_db, request.options)) as client:
        outcome = workflow_plan(client, request)  # the plan `plan` shows, its protections checked
    Out(False).result(render_plan_dot(outcome.plan))
    return EXIT_OK
