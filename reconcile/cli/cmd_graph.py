"""`reconcile graph`: the plan's changes and their dependencies as Graphviz DOT."""

from __future__ import annotations

import click

from ..workflow.engine import make_plan, prune_kinds
from ..render.dot import render_plan_dot
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
    desired = load_desired(paths, var_pairs, var_files)
    with open_client(Connection(endpoint, local_db, run_options(parallelism, retries, retry_delay))) as client:
        planned = make_plan(client, desired, prune=prune_kinds(prune), targets=targets, replace=replace,
                            parallelism=parallelism)
    Out(False).result(render_plan_dot(planned.plan))
    return EXIT_OK
