"""What of the planner is not data: properties across plans, and what is computed lazily.
Everything a single (config, live, options) → plan case can say is a file under
tests/plan_cases/ (run by test_plan_cases.py)."""

import pytest

from reconcile.plan import build_plan

from plan_builders import desired, live, want


def test_fingerprint_is_stable_for_the_same_inputs():
    d = desired(want("project", name="web"))
    assert build_plan(d, live()).fingerprint == build_plan(d, live()).fingerprint
    assert build_plan(d, live()).fingerprint != build_plan(desired(want("project", name="api")), live()).fingerprint


@pytest.mark.parametrize("state, attribute", [("LiveState", "live_fingerprint"), ("DesiredState", "config_digest")])
def test_plan_digests_are_computed_only_when_read(monkeypatch, state, attribute):
    """A plain text plan reads neither (~30 ms at 10,000 resources for the fingerprint; the
    digest serialises every declared value); each is computed once when read."""
    import reconcile.resources as resources

    cls = getattr(resources, state)
    method = "fingerprint" if attribute == "live_fingerprint" else attribute
    calls = []
    real = getattr(cls, method)
    monkeypatch.setattr(cls, method, lambda self: calls.append(1) or real(self))
    d, state_of_plan = desired(want("project", name="api")), live()
    plan = build_plan(d, state_of_plan)
    assert calls == []
    expected = real(state_of_plan if state == "LiveState" else d)
    assert getattr(plan, attribute) == expected and plan.to_data()[attribute] == expected
    assert getattr(plan, attribute) == expected and calls == [1]
    assert build_plan(d, live()).fingerprint == plan.fingerprint


def test_make_plan_computes_the_seed_only_when_an_apply_reads_it(monkeypatch):
    from reconcile.workflow import engine
    from reconcile.resources import LiveState

    calls = []
    real = LiveState.fingerprint
    monkeypatch.setattr(LiveState, "fingerprint", lambda self: calls.append(1) or real(self))
    monkeypatch.setattr(engine, "read_live", lambda client, parallelism=8: live())
    monkeypatch.setattr(engine, "with_impacts", lambda client, plan, live, parallelism=8: plan)
    planned = engine.make_plan(None, desired(want("project", name="api")))
    assert calls == []
    seed = planned.idempotency_seed
    assert seed.startswith(planned.plan.fingerprint + ":") and calls == [1]
    assert planned.idempotency_seed == seed  # computed once: the random part stays
    again = engine.make_plan(None, desired(want("project", name="api")))
    assert again.idempotency_seed != seed  # a fresh random part per run


def test_bulk_steps_freeze_what_they_leave_only_in_the_cli_process(monkeypatch):
    """`reconcile` (one process, one run) moves what a bulk step leaves alive out of later
    collections; a library caller's objects stay collectable as before."""
    import gc

    from reconcile import collector
    from reconcile.collector import gc_paused

    def frozen_after_a_step() -> int:
        gc.unfreeze()
        kept = [[i] for i in range(1000)]
        with gc_paused():
            kept += [[i] for i in range(1000)]
        count = gc.get_freeze_count()
        gc.unfreeze()
        return count

    assert collector.is_short_lived() is False
    assert frozen_after_a_step() == 0
    monkeypatch.setattr(collector, "_short_lived", True)
    assert frozen_after_a_step() >= 2000
    assert gc.isenabled()
