"""Config errors and risky changes where CI users look: under GitHub Actions
(`GITHUB_ACTIONS=true`), `validate` and `plan` print `::error file=…,line=…,col=…::` workflow
commands (at most 10) and append the full list to the step summary; `plan` also prints a
`::warning` for each delete, replace and loud impact at the lines that declare it
(reconcile/cli/ci/github.py has the format)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ..errors import Reason, ValidationError
if TYPE_CHECKING:  # `validate` imports this module: it must not pull in the planner
    from ..plan import Plan
    from ..render.common import SourceLinks


def annotate_config_errors(reasons: Sequence[Reason]) -> None:
    # Imported only under Actions: `validate` elsewhere must not load the plan renderers.
    from .ci.github import in_github_actions

    if not in_github_actions():
        return
    from .ci.github import append_summary, config_error_report

    lines, table = config_error_report(reasons)
    for line in lines:
        # The runner reads workflow commands on both streams: stderr, so stdout's JSON, Code
        # Quality report or plan stays exactly what it says it is.
        click.echo(line, err=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        append_summary(summary, table)


def annotating(fn: Callable[..., int | None]) -> Callable[..., int | None]:
    """Annotate a command's ValidationError before handle_errors reports it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> int | None:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            annotate_config_errors(exc.reasons)
            raise

    return wrapper


def annotate_plan(plan: Plan, links: SourceLinks | None) -> None:
    """Under GitHub Actions, `::warning` lines for the plan's deletes, replaces and loud
    impacts, attached to the config lines that declare them (reconcile/cli/ci/github.py
    `plan_annotations`). Not when the composite action runs the CLI: it annotates itself
    (it sets INFRAI_PLAN_ANNOTATIONS=0). `links`: the caller's `links_from_env()`, read once a run."""
    from .ci.github import in_github_actions

    if not in_github_actions() or os.environ.get("INFRAI_PLAN_ANNOTATIONS") == "0":
        return
    from ..render import plan_document
    from .ci.github import plan_annotations

    for line in plan_annotations(plan_document(plan), links=links):
        click.echo(line, err=True)
