"""The executor against a recording fake client: which calls a plan turns into."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from plan_builders import desired, live  # noqa: E402

from reconcile.apply import Executor, ExecutorOptions, live_ids  # noqa: E402
from reconcile.plan import build_plan  # noqa: E402
from reconcile.resources import DesiredResource  # noqa: E402


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, str | None]] = []

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotency_key: str | None = None) -> Any:
        self.calls.append((method, path, json, idempotency_key))
        return {"id": "new"}

    @property
    def request_count(self) -> int:
        return len(self.calls)


HOOK = "https://hooks.example.com/a"


def webhook(**values: Any) -> DesiredResource:
    return DesiredResource("webhook", (HOOK,), {"url": HOOK, "events": ["key.rotated"], **values},
                           secret_refs={"secret": "HOOK_SECRET"} if "secret" in values else {})


def live_hook(**raw: Any):
    return live(("webhook", {"id": "wh_1", "url": HOOK, "events": ["key.rotated"], "description": "old",
                             "active": True, "retry_policy": "default", "headers": {}, **raw}))


def run(plan, state) -> Recorder:
    client = Recorder()
    report = Executor(client, plan, live_ids=live_ids(state), options=ExecutorOptions(parallelism=4),
                      idempotency_seed="seed").run()
    assert report.ok, [(r.change.address, r.error) for r in report.results]
    return client


def test_an_update_never_sends_a_write_only_value():
    state = live_hook()
    plan = build_plan(desired(webhook(description="new", secret="s3cr3t-value")), state)
    client = run(plan, state)
    assert [(m, p, body) for m, p, body, _ in client.calls] == [
        ("PATCH", "/v1/account/webhooks/update/wh_1", {"description": "new"})]


def test_the_same_seed_and_step_give_the_same_idempotency_key_and_steps_differ():
    state = live_hook()
    plan = build_plan(desired(webhook(description="new")), state)
    assert run(plan, state).calls[0][3] == run(plan, state).calls[0][3]
    other = Executor(Recorder(), plan, live_ids=live_ids(state), options=ExecutorOptions(parallelism=4),
                     idempotency_seed="another run")
    other.run()
    assert other.client.calls[0][3] != run(plan, state).calls[0][3]


def test_a_create_sends_the_secret_the_user_gave():
    state = live()
    plan = build_plan(desired(webhook(secret="s3cr3t-value")), state)
    client = run(plan, state)
    assert client.calls[0][:2] == ("POST", "/v1/account/webhooks/register")
    assert client.calls[0][2]["secret"] == "s3cr3t-value"
    assert plan.changes[0].address == f'webhooks["{HOOK}"]'


class FailingOn(Recorder):
    """Answers like Recorder, but fails every call to a path containing `needle`."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle

    def request(self, method: str, path: str, **kw: Any) -> Any:
        from reconcile.errors import ReconcileError

        if self.needle in path:
            raise ReconcileError(f"{method} {path}: refused")
        return super().request(method, path, **kw)


def test_a_skipped_step_names_the_dependency_that_failed():
    from reconcile.apply.events import StepStatus
    from reconcile.apply.executor import ExecutorOptions
    from reconcile.render import render_report_text

    d = desired(DesiredResource("project", ("web",), {"name": "web"}),
                DesiredResource("api_key", ("web", "ci"), {"project": "web", "name": "ci"}),
                DesiredResource("project", ("api",), {"name": "api"}))
    plan = build_plan(d, live())
    client = FailingOn("/projects/create")
    report = Executor(client, plan, live_ids={}, options=ExecutorOptions(parallelism=1, keep_going=True),
                      idempotency_seed="seed").run()
    by = {r.change.address: r for r in report.results}
    assert by["projects.web"].status is StepStatus.FAILED
    assert by["projects.web.keys.ci"].status is StepStatus.SKIPPED
    assert by["projects.web.keys.ci"].error == "depends on projects.web (failed)"
    assert "  + projects.web.keys.ci: create skipped\n      depends on projects.web (failed)\n" \
        in render_report_text(report)


def test_a_skip_further_down_a_chain_names_the_failure_at_its_root():
    from reconcile.apply.schedule import StepResult, skip_reason as _skip_reason
    from reconcile.apply.events import StepStatus

    plan = build_plan(desired(DesiredResource("project", ("web",), {"name": "web"})), live())
    failed = StepResult(plan.changes[0], StepStatus.FAILED)
    skipped = StepResult(plan.changes[0], StepStatus.SKIPPED, error=_skip_reason("projects.web", failed))
    assert _skip_reason("projects.web.keys.ci", skipped) == \
        "depends on projects.web.keys.ci (skipped: depends on projects.web (failed))"
