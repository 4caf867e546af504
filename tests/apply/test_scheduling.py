"""The executor's scheduling: dependency order, the parallelism bound, what a failure stops
(first failure, or `keep_going`), and steps whose dependency is outside the plan.

The fake client answers at once, or holds calls at a barrier to prove how many run at
the same time (the barrier's timeout only bounds a broken run; nothing sleeps).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from plan_builders import desired, live, want  # noqa: E402

from reconcile.workflow.options import DEFAULT_PARALLELISM
from reconcile.apply import Executor  # noqa: E402
from reconcile.apply.events import ApplyEvent, StepStatus  # noqa: E402
from reconcile.apply.executor import ExecutorOptions  # noqa: E402
from reconcile.errors import ReconcileError  # noqa: E402
from reconcile.plan import Plan, build_plan  # noqa: E402


class Client:
    """Records each call's step (by the name it sends) and how many ran at once; fails the
    steps named in `fail`; holds calls at `barrier` when one is given."""

    def __init__(self, fail: set[str] = frozenset(), barrier: threading.Barrier | None = None) -> None:
        self.fail = fail
        self.barrier = barrier
        self.started: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotency_key: str | None = None) -> Any:
        name = (json or {}).get("name", path)
        with self._lock:
            self.started.append(name)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait(timeout=30)
            if name in self.fail:
                raise ReconcileError(f"{method} {path}: refused")
            return {"id": f"id-{name}", "key_id": f"id-{name}", "secret": "s" * 40}
        finally:
            with self._lock:
                self.in_flight -= 1

    @property
    def request_count(self) -> int:
        return len(self.started)


def run(plan: Plan, client: Client, **options: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def on_event(e: ApplyEvent) -> None:
        with lock:
            events.append((e.change.address, e.status.value))

    report = Executor(client, plan, live_ids={}, options=ExecutorOptions(**{"parallelism": DEFAULT_PARALLELISM, **options}), on_event=on_event,
                      idempotency_seed="seed").run()
    return {r.change.address: r for r in report.results}, events


def projects_with_keys(*names: str) -> Plan:
    return build_plan(desired(*(r for n in names for r in (want("project", name=n),
                                                           want("api_key", project=n, name=f"{n}-key")))), live())


def test_a_step_starts_only_after_every_step_it_depends_on_succeeded() -> None:
    plan = projects_with_keys("a", "b", "c")
    results, events = run(plan, Client(), parallelism=4)
    assert all(r.status is StepStatus.SUCCEEDED for r in results.values())
    for c in plan.changes:
        start = events.index((c.address, "running"))
        for dep in c.depends_on:
            assert events.index((dep, "succeeded")) < start, (dep, c.address)


def test_with_parallelism_one_steps_run_in_plan_order() -> None:
    plan = projects_with_keys("a", "b")
    client = Client()
    run(plan, client, parallelism=1)
    assert client.started == [c.after["name"] for c in plan.changes]


@pytest.mark.parametrize("parallelism", [1, 3])
def test_at_most_parallelism_steps_are_in_flight(parallelism: int) -> None:
    plan = build_plan(desired(*(want("project", name=f"p{i}") for i in range(6))), live())
    client = Client(barrier=threading.Barrier(parallelism))
    results, _ = run(plan, client, parallelism=parallelism)
    assert all(r.status is StepStatus.SUCCEEDED for r in results.values())
    assert client.most_in_flight == parallelism  # the barrier makes them meet; the bound holds


def test_the_first_failure_starts_nothing_new() -> None:
    plan = projects_with_keys("a", "b")
    client = Client(fail={"a"})
    results, events = run(plan, client, parallelism=1)
    assert client.started == ["a"]
    assert results["projects.a"].status is StepStatus.FAILED
    assert results["projects.b"].status is StepStatus.NOT_STARTED
    # a step under the failure is skipped, naming it; one that merely never started is not
    assert results["projects.a.keys.a-key"].status is StepStatus.SKIPPED
    assert results["projects.a.keys.a-key"].error == "depends on projects.a (failed)"
    assert results["projects.b.keys.b-key"].status is StepStatus.NOT_STARTED
    assert ("projects.b", "running") not in events


def test_keep_going_runs_what_does_not_depend_on_the_failure() -> None:
    plan = projects_with_keys("a", "b")
    client = Client(fail={"a"})
    results, events = run(plan, client, parallelism=1, keep_going=True)
    assert sorted(client.started) == ["a", "b", "b-key"]
    assert {a: r.status.value for a, r in results.items()} == {
        "projects.a": "failed", "projects.b": "succeeded",
        "projects.a.keys.a-key": "skipped", "projects.b.keys.b-key": "succeeded"}
    assert ("projects.a.keys.a-key", "skipped") in events
    assert ("projects.a.keys.a-key", "running") not in events


def test_a_dependency_outside_the_plan_is_not_waited_for() -> None:
    plan = build_plan(desired(want("project", name="a")), live())
    plan = replace(plan, changes=(replace(plan.changes[0], depends_on=("projects.elsewhere",)),))
    results, _ = run(plan, Client())
    assert results["projects.a"].status is StepStatus.SUCCEEDED


# -- the schedule alone (pure: no threads, no client) ----------------------------------
def test_the_schedule_releases_a_step_when_its_last_dependency_succeeds() -> None:
    from reconcile.apply.schedule import Schedule

    plan = projects_with_keys("a")
    schedule = Schedule(plan.changes)
    first = schedule.next_ready()
    assert first is not None and first.change.address == "projects.a" and schedule.next_ready() is None
    schedule.finished(replace(first, status=StepStatus.SUCCEEDED))
    second = schedule.next_ready()
    assert second is not None and second.change.address == "projects.a.keys.a-key"


def test_the_schedule_skips_a_chain_back_to_the_step_that_failed_and_settles_in_plan_order() -> None:
    from reconcile.apply.schedule import Schedule

    plan = projects_with_keys("a")
    schedule = Schedule(plan.changes)
    first = schedule.next_ready()
    assert first is not None
    schedule.finished(replace(first, status=StepStatus.FAILED, error="boom"))
    [skipped] = schedule.skip_dependents("projects.a")
    assert skipped.status is StepStatus.SKIPPED and skipped.error == "depends on projects.a (failed)"
    assert [r.status for r in schedule.settle()] == [StepStatus.FAILED, StepStatus.SKIPPED]
