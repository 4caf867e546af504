"""Every renderer against golden files (tests/render/golden/): one small plan with a create,
an update, a replace, a delete, drift and a secret, and an apply report with a success, a
failure, a skip naming the failed dependency and a step not started.

A difference fails the test with a diff. When a change to the output is intended,
regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/render` and review the diff of
tests/render/golden/ before committing it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from plan_builders import desired, live, project, want  # noqa: E402

from reconcile import __version__  # noqa: E402
from reconcile.apply.events import ApplyEvent, ApplyReport, StepResult, StepStatus  # noqa: E402
from reconcile.errors import Reason, SourcePosition  # noqa: E402
from reconcile.plan import Plan, build_plan  # noqa: E402
from reconcile.plan.checks import CheckResult  # noqa: E402
from reconcile.render import events, plan_document, render_plan_markdown, render_plan_text, report_document  # noqa: E402
from reconcile.render import render_report_text  # noqa: E402
from reconcile.render.dot import render_plan_dot  # noqa: E402
from reconcile.render.drift import drift_report  # noqa: E402
from reconcile.render.gitlab import codequality_report, plan_report  # noqa: E402
from reconcile.resources import DesiredResource  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
SECRET = "s3cr3t-value-never-shown"
OLD_HOOK, NEW_HOOK = "https://hooks.example.com/old", "https://hooks.example.com/new"
TS = 1_780_000_000.0  # a fixed clock for the event stream


def sample_plan() -> Plan:
    hook = {"events": ["key.rotated"], "description": "new"}
    d = desired(
        want("project", name="web", scopes=["keys:read"]),
        want("api_key", project="web", name="ci"),
        DesiredResource("webhook", (OLD_HOOK,), {"url": OLD_HOOK, **hook}),
        DesiredResource("webhook", (NEW_HOOK,), {"url": NEW_HOOK, **hook, "secret": SECRET},
                        secret_refs={"secret": "HOOK_SECRET"}),
        want("member", email="ops@example.com", role="admin"),
        prune={"bandwidth_alert"})
    state = live(
        ("webhook", {"id": "wh_1", "url": OLD_HOOK, "events": ["key.rotated"], "description": "old", "active": True,
                     "retry_policy": "default", "headers": {}, "created_at": "2026-01-01T00:00:00Z"}),
        ("member", {"member_id": "m1", "email": "ops@example.com", "role": "viewer", "status": "active",
                    "invited_at": "2026-01-01T00:00:00Z"}),
        ("bandwidth_alert", {"id": "ba_1", "threshold_bytes": 1000, "enabled": True,
                             "created_at": "2026-01-01T00:00:00Z"}),
        project("p_old", "legacy"))
    return dataclasses.replace(build_plan(d, state), checks=(  # passing, failing (shown first), pending
        CheckResult("routing", "routing", "fail", "pass", "ai.chat selects vendor anthropic",
                    {"capability": "ai.chat", "selected_vendor": "anthropic"}),
        CheckResult("routing", "routing", "warn", "fail", "ai.embed selects vendor openai; resolved chain openai, "
                    "expected anthropic | openai", {"capability": "ai.embed", "selected_vendor": "openai"}),
        CheckResult("webhook", f'webhooks["{NEW_HOOK}"]', "warn", "pending",
                    "after apply: webhooks.test sends a webhook.test event and reads its delivery")))


def sample_report(plan: Plan) -> ApplyReport:
    by = {c.address: c for c in plan.changes}
    results = [
        StepResult(by["projects.web"], StepStatus.FAILED, error="POST /v1/account/projects/create: refused", calls=1),
        StepResult(by["projects.web.keys.ci"], StepStatus.SKIPPED, error="depends on projects.web (failed)"),
        StepResult(by[f'webhooks["{OLD_HOOK}"]'], StepStatus.SUCCEEDED, calls=1, elapsed_ms=12),
        StepResult(by[f'webhooks["{NEW_HOOK}"]'], StepStatus.SUCCEEDED, calls=1, new_id="wh_2", elapsed_ms=15),
        StepResult(by['members["ops@example.com"]'], StepStatus.NOT_STARTED),
        StepResult(by["bandwidth_alerts[1000]"], StepStatus.NOT_STARTED),
    ]
    assert len(results) == len(plan.changes)
    return ApplyReport(results, stopped_early=True, elapsed_s=0.5, requests=3)


def event_stream(plan: Plan, report: ApplyReport) -> str:
    by = {r.change.address: r for r in report.results}
    msgs: list[dict[str, Any] | None] = [events.planned_change(c) for c in plan.changes]
    msgs += [events.resource_drift(u) for u in plan.drift]
    msgs.append(events.plan_summary(plan))
    for r in report.results:
        if r.status is not StepStatus.NOT_STARTED:
            msgs.append(events.apply_event(ApplyEvent(r.change, StepStatus.RUNNING, ts=TS)))
            msgs.append(events.apply_event(ApplyEvent(r.change, r.status, error=r.error,
                                                      elapsed_ms=r.elapsed_ms, ts=TS)))
    msgs.append(events.apply_progress(by["projects.web"].change, 12.7))
    msgs.append(events.apply_summary(report, plan))
    msgs.append(events.reason_diagnostic(Reason("unknown field 'nmae'", SourcePosition("infrai.yaml", 3, 5),
                                                "projects[0]")))
    text = "".join(events.line(m) + "\n" for m in msgs if m is not None)
    lines = [json.loads(x) for x in text.splitlines()]
    for m in lines:  # messages made without an event's time carry the wall clock
        m["@timestamp"] = "<now>"
    return "".join(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n" for m in lines)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def bracket_style(text: str, **kw: Any) -> str:
    """A visible stand-in for colours, so the golden file shows what is styled how."""
    return f"[{','.join(f'{k}={v}' for k, v in sorted(kw.items()))}]{text}[/]" if kw else text


REASONS = [Reason("unknown field 'nmae'", SourcePosition("infrai.yaml", 3, 5), "projects[0]"),
           Reason("unknown field 'nmae'", SourcePosition("infrai.yaml", 9, 5), "projects[0]"),
           Reason("no config file found")]

RENDERERS: dict[str, Callable[[Plan, ApplyReport], str]] = {
    "plan.txt": lambda p, r: render_plan_text(p),
    "plan_styled.txt": lambda p, r: render_plan_text(p, style=bracket_style),
    "plan_no_unmanaged.txt": lambda p, r: render_plan_text(p, show_unmanaged=False),
    "report.txt": lambda p, r: render_report_text(r),
    "plan.md": lambda p, r: render_plan_markdown(p, title="Sample plan"),
    "plan_limited.md": lambda p, r: render_plan_markdown(p, limit=1250),  # whole changes cut: 3 of 6 shown
    "plan.json": lambda p, r: as_json(plan_document(p)),
    "report.json": lambda p, r: as_json(report_document(r, p)),
    "plan.dot": lambda p, r: render_plan_dot(p),
    "events.jsonl": event_stream,
    "drift.json": lambda p, r: as_json(drift_report(p)),
    "gitlab_plan.json": lambda p, r: as_json(plan_report(p)),
    "gitlab_codequality.json": lambda p, r: as_json(codequality_report(REASONS)),
}


@pytest.fixture(scope="module")
def sample() -> tuple[Plan, ApplyReport]:
    plan = sample_plan()
    return plan, sample_report(plan)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renderer_matches_its_golden_file(name: str, sample: tuple[Plan, ApplyReport]) -> None:
    got = RENDERERS[name](*sample).replace(__version__, "<version>")
    assert SECRET not in got
    path = GOLDEN / name
    if UPDATE:
        path.write_text(got, encoding="utf-8")
    want = path.read_text(encoding="utf-8") if path.exists() else ""
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), f"golden/{name}", "rendered"))
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to regenerate):\n{diff}")


def test_every_golden_file_has_a_renderer() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(RENDERERS)


def test_the_sample_covers_every_action_and_a_masked_secret(sample: tuple[Plan, ApplyReport]) -> None:
    plan, _ = sample
    assert {c.action.value for c in plan.changes} >= {"create", "update", "replace", "delete"}
    assert "${env:HOOK_SECRET}" in (GOLDEN / "plan.json").read_text()
    assert "(sensitive)" in (GOLDEN / "plan.txt").read_text()
