"""`reconcile plan`: show what apply would change."""

from __future__ import annotations

import json

import click

from ..render.gitlab import plan_report
from ..workflow.engine import check_plan, make_plan, prune_kinds
from ..plan import Plan
from ..workflow.planfile import write_plan
from ..render import plan_document, render_plan_markdown, render_plan_text
from .annotate import annotate_plan, annotating
from .git_history import with_history
from .source_links import links_from_env
from .common import (
    EXIT_CHANGES,
    EXIT_OK,
    Out,
    config_options,
    connection_options,
    gate_options,
    handle_errors,
    load_desired,
    pick_color,
    plan_options,
    run_gates,
)
from .gitops import write_drift_report, write_step_summary
from .jsonui import JSON_OPTION, emit_plan, json_diagnostics
from .wiring import Connection, open_client


def _render(plan: Plan, fmt: str, color: bool) -> str:
    if fmt == "json":
        return json.dumps(plan_document(plan), indent=2, sort_keys=False) + "\n"
    if fmt == "markdown":
        return render_plan_markdown(plan, links=links_from_env())
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
    desired = load_desired(paths, var_pairs, var_files)
    with open_client(Connection(endpoint, local_db, parallelism, retries, retry_delay)) as client:
        planned = make_plan(client, desired, prune=prune_kinds(prune), targets=targets, replace=replace,
                            parallelism=parallelism)
    check_plan(planned, force=True)  # protections fail the plan too; thresholds only stop apply
    planned.plan = with_history(planned.plan, paths)  # what each delete was last declared in (git)
    if json_events:
        emit_plan(planned.plan)
    else:
        Out(pick_color(color, no_color)).result(_render(planned.plan, fmt, pick_color(color, no_color)))
    if gitlab_file:
        with open(gitlab_file, "w", encoding="utf-8") as fh:
            json.dump(plan_report(planned.plan), fh)
    write_step_summary(planned.plan)
    annotate_plan(planned.plan)
    if drift_file:
        write_drift_report(drift_file, planned.plan)
    run_gates(planned)  # exit 3 (policy) or 4 (--fail-on), once the plan is shown
    if out_file:
        write_plan(out_file, planned.plan, {"prune": sorted(prune_kinds(prune)), "targets": list(targets),
                                            "replace": list(replace), "files": list(desired.sources),
                                            # Where secrets go (no secret in it): `apply PLANFILE` uses it.
                                            "secrets": desired.settings.get("secrets") or {}})
        Out(False).info(f"Saved the plan to {out_file}. Apply exactly these steps with: reconcile apply {out_file}")
    if detailed_exitcode and planned.plan.has_drift:  # changes, or undeclared objects that are drift
        return EXIT_CHANGES
    return EXIT_OK
