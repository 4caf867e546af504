"""`reconcile plan`: show what apply would change."""

from __future__ import annotations

import json

import click

from ..render.gitlab import plan_report
from ..plan import Plan
from ..render import plan_document, render_plan_markdown, render_plan_text
from ..render.common import SourceLinks
from ..workflow.events import PlanReady, WorkflowEvent
from ..workflow.run import PlanRequest
from ..workflow.run import plan as workflow_plan
from .annotate import annotate_plan, annotating
from .source_links import links_from_env
from .common import (
    EXIT_CHANGES,
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
from .gitops import write_drift_report, write_step_summary
from .jsonui import JSON_OPTION, emit_plan, json_diagnostics
from .wiring import Connection, open_client, run_options


def _render(plan: Plan, fmt: str, color: bool, links: SourceLinks | None) -> str:
    if fmt == "json":
        return json.dumps(plan_document(plan), indent=2, sort_keys=False) + "\n"
    if fmt == "markdown":
        return render_plan_markdown(plan, links=links)
    return render_plan_text(plan, style=click.style if color else None)


@click.command()
@config_options
@connection_options
@plan_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes or drift (undeclared objects; docs/gitops.md#drift).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Save the plan for `apply PLANFILE`.")
@click.option("--drift-report", "drift_file", type=click.Path(dir_okay=False),
              help="Write a JSON drift report: drifted fields (live vs declared), unmanaged objects per kind.")
@JSON_OPTION
@click.option("--gitlab-report", "gitlab_file", type=click.Path(dir_okay=False), envvar="INFRAI_GITLAB_REPORT",
              help='Write GitLab\'s plan report {"create":N,"update":N,"delete":N} (artifacts:reports:terraform).')
@gate_options
@handle_errors
@json_diagnostics
@annotating
def plan(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
         local_db: str | None, parallelism: int, retries: int, retry_delay: float, prune: tuple[str, ...], targets: tuple[str, ...],
         replace: tuple[str, ...], color: str, no_color: bool, fmt: str, detailed_exitcode: bool,
         out_file: str | None, drift_file: str | None = None, json_events: bool = False,
         gitlab_file: str | None = None) -> int:
    """Show what apply would change, without changing anything."""
    policy_file, fail_on = gate_settings()
    request = PlanRequest(load_desired(paths, var_pairs, var_files),
                          options=run_options(parallelism, retries, retry_delay), prune=prune, targets=targets, replace=replace, policy_file=policy_file, fail_on=fail_on,
                          out=out_file, history_paths=tuple(paths))
    with open_client(Connection(endpoint, local_db, request.options)) as client:
        # The plan is shown (and its reports written) before the gates: exit 3 or 4 after it.
        outcome = workflow_plan(client, request, on_event=lambda event: _show(
            event, fmt, pick_color(color, no_color), json_events, gitlab_file, drift_file))
    if out_file:
        Out(False).info(f"Saved the plan to {out_file}. Apply exactly these steps with: reconcile apply {out_file}")
    if detailed_exitcode and outcome.plan.has_drift:  # changes, or undeclared objects that are drift
        return EXIT_CHANGES
    return EXIT_OK


def _show(event: WorkflowEvent, fmt: str, color: bool, json_events: bool, gitlab_file: str | None,
          drift_file: str | None) -> None:
    if not isinstance(event, PlanReady):
        return
    links = links_from_env()  # once: it may parse the CI's event file
    if json_events:
        emit_plan(event.plan)
    else:
        Out(color).result(_render(event.plan, fmt, color, links))
    if gitlab_file:
        with open(gitlab_file, "w", encoding="utf-8") as fh:
            json.dump(plan_report(event.plan), fh)
    write_step_summary(event.plan, links)
    annotate_plan(event.plan, links)
    if drift_file:
        write_drift_report(drift_file, event.plan)
