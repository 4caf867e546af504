"""The workflow in library form: load → read live → plan → check → apply.

The CLI is a thin layer over these functions; tests and benchmarks call them directly.
Imports: everything but cli and emulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from secrets import token_hex
from typing import Any, Callable, Iterable, Iterator

from ..apply import (
    ApplyEvent,
    ApplyReport,
    Executor,
    ExecutorOptions,
    SecretRouter,
    live_ids,
)
from ..apply import lease as account_lease
from ..apply.rollback import mark_undone, undo_plan
from .checks import plan_checks
from .options import DEFAULT_PARALLELISM
from ..plan.impact import assess, facts_needed
from ..kinds import KINDS, resolve_kind_names
from ..live import read_live
from ..live.facts import read_facts
from ..live.pool import reading_pool
from ..live.reader import server_now
from ..plan import (
    Plan,
    PlanOptions,
    SafetyLimits,
    build_plan,
    check_protected,
    check_thresholds,
    ownership,
)
from ..plan.model import Deferred
from ..plan.moves import apply_moves, relabel
from ..plan.safety import check_replaced_parents, threshold_problems
from ..plan.staleness import check_not_stale, without
from .planfile import SavedPlan
from ..plan.targets import check_targets
from ..collector import gc_paused
from ..resources import DesiredState, LiveState

PRUNABLE = tuple(k.name for k in KINDS if not k.singleton)


def prune_kinds(values: Iterable[str]) -> frozenset[str]:
    """`--prune` (all) or `--prune projects,keys`: config keys or kind names → kind names."""
    return resolve_kind_names(values, option="--prune", singletons=False)


@dataclass
class Planned:
    plan: Plan
    live: LiveState
    desired: DesiredState | None
    # Steps of a saved plan found already applied (skipped).
    already_done: list[str] = field(default_factory=list)
    # A saved plan keeps its own fingerprint as the seed of idempotency keys, so applying
    # it twice replays rather than repeats. May be given as a callable, computed when an
    # apply first reads it (it needs the live fingerprint, which a plain plan never needs).
    idempotency_seed: Deferred[str | None] = Deferred(None)


def replan_saved(client: Any, saved: SavedPlan, *, force: bool, limits: SafetyLimits = SafetyLimits(),
                 parallelism: int = DEFAULT_PARALLELISM) -> Planned:
    """Re-read live state and keep the saved plan's steps, refusing if it went stale."""
    live = read_live(client, parallelism=parallelism)
    # The plan's renames, filed as it planned them (a no-op once they are applied).
    live = relabel(live, {c.moved_from: c.identity for c in saved.plan.changes if c.moved_from})
    done = check_not_stale(saved.plan, live)
    plan = with_impacts(client, without(saved.plan, set(done)), live, parallelism=parallelism)
    check_protected(plan, set())
    check_replaced_parents(plan, live)
    if not force:
        check_thresholds(plan, limits)
    return Planned(plan, live, None, done, saved.idempotency_seed)


def make_plan(client: Any, desired: DesiredState, *, prune: frozenset[str] = frozenset(),
              targets: tuple[str, ...] = (), replace: tuple[str, ...] = (), parallelism: int = DEFAULT_PARALLELISM) -> Planned:
    with reading_pool(1, "plan-read") as pool:
        reading = pool.submit(read_live, client, parallelism=parallelism)
        live = reading.result()
    live = apply_moves(desired, live)  # renames (`renamed_from`): the old object under its new address
    if targets:
        check_targets(targets, [*desired.resources, *live.resources])
    now = server_now(live) or datetime.now(timezone.utc)
    if desired.stack:
        clashes = ownership.conflicts(desired, live)
        if clashes:
            raise ownership.OwnershipConflict(
                f"stack {desired.stack!r} declares objects it does not own:\n  " + "\n  ".join(clashes)
                + f"\nTake them over with: reconcile adopt --stack {desired.stack} ADDRESS...")
        desired = ownership.stamp(desired, live)
    with gc_paused():  # the planner allocates many small objects and frees none of them
        plan = build_plan(desired, live, PlanOptions(prune=prune, targets=targets, replace=replace, now=now,
                                                     ownership=ownership.prune_filter(desired.stack, live)))
    problems = threshold_problems(plan)
    if problems:
        # Shown by `plan` too, so a reviewer sees it before apply refuses it.
        plan = dataclasses.replace(plan, warnings=plan.warnings + tuple(
            f"apply refuses this plan without --force: it {p}" for p in problems))
    # A fresh random part per run: an identical plan made again later (the account went
    # back to an earlier state) must not replay the API's stored answers to the first one.
    salt = token_hex(8)
    planned = with_impacts(client, plan, live, parallelism=parallelism)
    planned = plan_checks(client, planned, desired, live, parallelism=parallelism)  # docs/checks.md
    return Planned(planned, live, desired, idempotency_seed=lambda: f"{plan.fingerprint}:{salt}")


def with_impacts(client: Any, plan: Plan, live: LiveState, *, parallelism: int = DEFAULT_PARALLELISM) -> Plan:
    """The plan with its impacts, reading the account facts they need (none for a plan
    without a billing or limits change, so a no-op plan sends only its list pages)."""
    needed = facts_needed(plan)
    if not needed:
        return plan
    server = server_now(live)
    read_facts(client, live, needed, parallelism=parallelism, now=server)
    missing = live.facts.get("unavailable") or {}
    warnings = tuple(f"impact not assessed: {name} could not be read ({error})" for name, error in missing.items())
    impacts = assess(plan, live.facts, server or datetime.now(timezone.utc))
    return dataclasses.replace(plan, impacts=impacts, warnings=plan.warnings + warnings)


def check_plan(planned: Planned, *, force: bool, limits: SafetyLimits = SafetyLimits()) -> None:
    """Raise UnsafePlan when the plan destroys protected resources or too much."""
    resources = planned.desired.resources if planned.desired is not None else {}  # None: a saved plan
    protected = {a for a, r in resources.items() if r.meta.get("protect")}
    check_protected(planned.plan, protected)
    check_replaced_parents(planned.plan, planned.live)
    if not force:
        check_thresholds(planned.plan, limits)


def apply_plan(client: Any, plan: Plan, live: LiveState, *, parallelism: int = DEFAULT_PARALLELISM, keep_going: bool = False,
               secrets: SecretRouter | None = None, journal: Any = None,
               on_event: Callable[[ApplyEvent], None] | None = None,
               idempotency_seed: str | None = None, atomic: bool = False, lease: bool = True,
               cancel: threading.Event | None = None) -> ApplyReport:
    """Run the plan's steps (and, with `atomic`, undo them after a failure), holding the
    account lease (apply/lease.py) throughout unless `lease` is False: a second apply on the
    same account meanwhile is refused with LeaseHeld before it changes anything. Setting
    `cancel` starts no new step; the undo of `atomic` runs to its end regardless."""
    with (account_lease.holding(client, now=server_now(live), journal=_journal_id(journal)) if lease
          else contextlib.nullcontext()) as held:
        executor = Executor(client, plan, live_ids=live_ids(live),
                            options=ExecutorOptions(parallelism=parallelism, keep_going=keep_going),
                            secrets=secrets, journal=journal, on_event=on_event, idempotency_seed=idempotency_seed,
                            cancel=cancel)
        report = executor.run()
        if atomic and not report.ok:
            undo, irreversible = undo_plan(plan, report)
            undo_report = Executor(client, undo, live_ids=live_ids(live),
                                   options=ExecutorOptions(parallelism=parallelism, keep_going=True),
                                   on_event=on_event, idempotency_seed=f"{executor.seed}:undo").run()
            mark_undone(report, undo_report, irreversible)
    if held is not None and held.note:
        report.notes.append(held.note)
    return report


def _journal_id(journal: Any) -> str | None:
    path = getattr(journal, "path", None)
    return account_lease.journal_id(path) if path is not None else None


@contextlib.contextmanager
def holding_account_lease(client: Any, journal: Any = None) -> Iterator[account_lease.Lease]:
    """The account lease (apply/lease.py) for a whole apply — journal recovery, planning,
    confirmation and steps — as Terraform holds its state lock: a second apply cannot plan
    from a state the first is about to change (pass `lease=False` to apply_plan inside)."""
    with account_lease.holding(client, journal=_journal_id(journal)) as held:
        yield held

