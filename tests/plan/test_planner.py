"""What of the planner is not data: properties across plans, and what is computed lazily.
Everything a single (config, live, options) → plan case can say is a file under
tests/plan_cases/ (run by test_plan_cases.py)."""

from reconcile.plan import build_plan

from plan_builders import desired, live, want


def test_fingerprint_is_stable_for_the_same_inputs():
    d = desired(want("project", name="web"))
    assert build_plan(d, live()).fingerprint == build_plan(d, live()).fingerprint
    assert build_plan(d, live()).fingerprint != build_plan(desired(want("project", name="api")), live()).fingerprint


def test_live_fingerprint_is_computed_only_when_read(monkeypatch):
    from reconcile.resources import LiveState

    calls = []
    real = LiveState.fingerprint
    monkeypatch.setattr(LiveState, "fingerprint", lambda self: calls.append(1) or real(self))
    d = desired(want("project", name="api"))
    plan = build_plan(d, live())
    assert calls == []  # a plain plan never needs it (~30 ms at 10,000 resources)
    expected = real(live())
    assert plan.live_fingerprint == expected and plan.to_data()["live_fingerprint"] == expected
    assert plan.live_fingerprint == expected and calls == [1]  # computed once


def test_config_digest_is_computed_only_when_read(monkeypatch):
    from reconcile.resources import DesiredState

    calls = []
    real = DesiredState.config_digest
    monkeypatch.setattr(DesiredState, "config_digest", lambda self: calls.append(1) or real(self))
    d = desired(want("project", name="api"))
    plan = build_plan(d, live())
    assert calls == []  # a plain text plan never needs it (every declared value serialised)
    assert plan.config_digest == real(d) and plan.to_data()["config_digest"] == real(d)
    assert plan.config_digest == real(d) and calls == [1]  # computed once
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

    import reconcile
    from reconcile.resources import gc_paused

    def frozen_after_a_step() -> int:
        gc.unfreeze()
        kept = [[i] for i in range(1000)]
        with gc_paused():
            kept += [[i] for i in range(1000)]
        count = gc.get_freeze_count()
        gc.unfreeze()
        return count

    assert reconcile.SHORT_LIVED_PROCESS is False
    assert frozen_after_a_step() == 0
    monkeypatch.setattr(reconcile, "SHORT_LIVED_PROCESS", True)
    assert frozen_after_a_step() >= 2000
    assert gc.isenabled()
