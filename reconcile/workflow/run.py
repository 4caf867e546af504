"""The two workflows a user runs, as library functions: `plan(client, PlanRequest)` and
`apply(client, ApplyRequest, ...)`. The CLI's `plan` and `apply` build a request from their
flags, call one of these and print what they report; a script does the same (docs/python-api.md).

`apply` runs, in order and under the account lease (apply/lease.py): journal replay
(workflow/recovery.py), the plan (or the re-check of a saved plan), the gates
(workflow/gates.py), the confirmation, the steps (apply/executor.py) and the settlement of
the journal. What the caller should show along the way arrives at `on_event`: a `Note`, the
`PlanReady` plan, `StepsStarting`/`StepsFinished` around the steps and each step's
`ApplyEvent`. A failed or interrupted apply raises ApplyError (ApplyInterrupted) carrying the
`ApplyResult`.

Imports: errors, config, resources, apply, live, plan, workflow.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..apply.events import ApplyReport
from ..apply.journal import ApplyJournal, default_journal_path
from ..apply.secrets import FileSink, SecretRouter, SecretSink, sinks_from_settings
from ..errors import ApplyError, ApplyInterrupted, ReconcileError, UsageError
from ..live.reader import read_live
from ..plan.checks import CheckResult
from ..plan.model import Change, Plan
from ..resources import DesiredState, LiveState
from .checks import apply_checks
from .events import Note, PlanReady, StepsFinished, StepsStarting, WorkflowEvent
from .engine import Planned, apply_plan, check_plan, holding_account_lease, make_plan, prune_kinds, replan_saved
from .gates import check_gates
from .git_history import with_history
from .options import RunOptions
from .planfile import SavedPlan, write_plan
from .recovery import recover

#: Where a secret no sink took is kept (0600), unless the request says otherwise.
DEFAULT_RECOVERY_PATH = Path(".infrai-secrets.json")


# -- requests and outcomes ---------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Planning:
    """What a plan and an apply both take (by keyword): how to talk to the API, what to
    plan, and the gates the plan must pass."""

    options: RunOptions = RunOptions()
    prune: tuple[str, ...] = ()
    """Kinds whose undeclared live objects are deleted: "all", or kind names / config keys."""
    targets: tuple[str, ...] = ()
    """Only these addresses and what they depend on."""
    replace: tuple[str, ...] = ()
    """Replace (keys: rotate) these addresses even if nothing differs."""
    policy_file: str | None = None
    """Policy rules (docs/policy.md), besides the config's `policy:` section."""
    fail_on: str | None = None
    """"warning" or "danger": an impact at least this severe raises ImpactAboveThreshold."""


@dataclass(frozen=True)
class PlanRequest(Planning):
    """What to plan: a loaded config (`load`) and how."""

    desired: DesiredState
    out: str | Path | None = None
    """Save the plan here (after the gates passed) for `apply` with `saved=`."""
    history_paths: tuple[str, ...] = ()
    """The config paths as given: each delete cites the file and last commit that declared
    it there (`git log -S`, bounded; docs/environments.md#citations). Empty: no lookup."""


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    live: LiveState
    desired: DesiredState

    @property
    def changes(self) -> tuple[Change, ...]:
        return self.plan.changes

    @property
    def has_changes(self) -> bool:
        return self.plan.has_changes


@dataclass(frozen=True)
class ApplyRequest(Planning):
    """What to apply: a loaded config (`desired`), or a saved plan (`saved`, from
    `planfile.load_plan`) whose steps are applied exactly, and how."""

    desired: DesiredState | None = None
    saved: SavedPlan | None = None
    force: bool = False
    """Apply even past the delete/replace safety threshold."""
    keep_going: bool = False
    """After a failure, skip only what depends on it."""
    atomic: bool = False
    """After a failure, undo the reversible steps this apply made."""
    auto_approve: bool = False
    """Apply without calling `confirm`."""
    journal_path: str | Path | None = None
    """The crash journal (docs/journal.md); default .infrai-journal.jsonl here."""
    recovery_path: str | Path = DEFAULT_RECOVERY_PATH
    """Where a secret is kept when no sink took it."""

    def __post_init__(self) -> None:
        if (self.desired is None) == (self.saved is None):
            raise UsageError("an apply request needs either a config (desired=) or a saved plan (saved=), not both")

    @property
    def settings(self) -> Mapping[str, Any]:
        """The config's settings (`secrets:`, `policy:`, `checks:`); a saved plan keeps where
        secrets go and its checks."""
        if self.desired is not None:
            return self.desired.settings
        assert self.saved is not None
        return {"secrets": self.saved.options.get("secrets") or {}, "checks": self.saved.options.get("checks") or {}}


@dataclass
class ApplyResult:
    plan: Plan
    report: ApplyReport
    """Every step's outcome, and the notes (`report.notes`) for the user."""
    already_done: list[str] = field(default_factory=list)
    """Steps of a saved plan found already applied (skipped)."""
    recovery_ok: bool = True
    """False when a secret lost by an interrupted apply could not be recovered (see the notes)."""
    delivered: list[str] = field(default_factory=list)
    """`address.field` of each secret given to the sinks."""
    checks: list[CheckResult] = field(default_factory=list)
    """The config's checks run after the steps (docs/checks.md); `--fail-on` over them is
    `workflow.gates.check_results(result.checks, fail_on, applied=True)`."""

    @property
    def ok(self) -> bool:
        return self.report.ok and self.recovery_ok

    @property
    def interrupted(self) -> bool:
        return self.report.interrupted


# -- the workflows -------------------------------------------------------------------
def load(paths: Sequence[str | Path], *, variables: Mapping[str, str] | None = None,
         var_files: Sequence[str | Path] = ()) -> DesiredState:
    """Load and validate config files or directories (raises ValidationError, every
    problem with file:line:col). Sensitive values it declares are kept out of every message."""
    from ..config import load_config
    from .connect import remember_declared_secrets

    desired = load_config([str(p) for p in paths], variables=dict(variables or {}),
                          var_files=[str(p) for p in var_files])
    remember_declared_secrets(desired)
    return desired


def plan(client: Any, request: PlanRequest, *, on_event: Callable[[WorkflowEvent], None] | None = None
         ) -> PlanOutcome:
    """Read the account, plan, check protections (thresholds only stop an apply), tell
    `on_event` (PlanReady), run the gates, save the plan if asked. Changes nothing."""
    emit = on_event or _ignore
    # Protections stop a plan too; thresholds only an apply (a reviewer must see that plan).
    planned = _plan_config(client, request.desired, request, force=True)
    if request.history_paths:  # what each delete was last declared in (git)
        planned.plan = with_history(planned.plan, request.history_paths)
    emit(PlanReady(planned.plan, planned.live, planned.desired))
    check_gates(planned.plan, request.desired.settings, policy_file=request.policy_file, fail_on=request.fail_on)
    if request.out:
        write_plan(request.out, planned.plan, {
            "prune": sorted(prune_kinds(request.prune)), "targets": list(request.targets),
            "replace": list(request.replace), "files": list(request.desired.sources),
            # Where secrets go (no secret in it): an apply of the saved plan uses it.
            "secrets": request.desired.settings.get("secrets") or {},
            # What an apply of the saved plan checks afterwards (docs/checks.md).
            "checks": request.desired.settings.get("checks") or {}})
    return PlanOutcome(planned.plan, planned.live, request.desired)


def apply(client: Any, request: ApplyRequest, *, on_event: Callable[[WorkflowEvent], None] | None = None,
          confirm: Callable[[Plan], bool] | None = None, secrets: Sequence[SecretSink] | None = None,
          cancel: threading.Event | None = None) -> ApplyResult:
    """Make the account match `request` and return what was done.

    `confirm(plan)` is asked before any change unless `request.auto_approve`; False cancels
    (ReconcileError, nothing changed). `secrets` are the sinks new secrets go to (default:
    the config's `secrets:` section); one no sink took is kept at `request.recovery_path`.
    Setting `cancel` stops the steps: none starts any more, the ones in flight finish.
    Raises ApplyError (ApplyInterrupted when cancelled) carrying the ApplyResult when a step
    failed or did not run, or a lost secret could not be recovered."""
    emit = on_event or _ignore
    sinks = list(secrets) if secrets is not None else sinks_from_settings(request.settings.get("secrets") or {})
    router = SecretRouter(sinks, request.recovery_path)
    parallelism = request.options.parallelism
    with router, ApplyJournal(request.journal_path or default_journal_path(None)) as journal, \
            holding_account_lease(client, journal) as lease:  # one apply per account (docs/journal.md)
        lease_note = lease.note
        if lease.note:
            emit(Note(lease.note))
        # Before planning: a secret lost by an interrupted apply is recovered (docs/journal.md).
        recovery = recover(journal, client, router, read_live=lambda c: read_live(c, parallelism=parallelism))
        for note in recovery.notes:
            emit(Note(note))
        planned = _planned(client, request, emit)
        emit(PlanReady(planned.plan, planned.live, planned.desired))
        check_gates(planned.plan, request.settings, policy_file=request.policy_file, fail_on=request.fail_on)
        if not planned.plan.has_changes:
            _close_journal(journal, recovery.ok)
            return _outcome(ApplyResult(planned.plan, ApplyReport([]), planned.already_done, recovery.ok))
        if not request.auto_approve:
            if confirm is None:
                raise UsageError("apply needs auto_approve=True or a confirm callback")
            if not confirm(planned.plan):
                raise ReconcileError("apply cancelled; nothing was changed")
        journal.start_run(planned.plan.fingerprint, planned.idempotency_seed)
        emit(StepsStarting(len(planned.plan.changes)))
        try:
            report = apply_plan(client, planned.plan, planned.live, parallelism=parallelism,
                                keep_going=request.keep_going, secrets=router, journal=journal, on_event=emit,
                                idempotency_seed=planned.idempotency_seed, atomic=request.atomic, lease=False,
                                cancel=cancel)
        finally:
            emit(StepsFinished())
        # Checks (docs/checks.md): prove what was just applied, while the client is open.
        checked = [] if report.interrupted else apply_checks(
            client, planned.plan, report, {"checks": request.settings.get("checks") or {}}, parallelism=parallelism)
        recovery.settle(journal, {r.change.address for r in report.results if r.status.value == "succeeded"
                                  and r.change.action.value in ("rotate", "replace")})
        _close_journal(journal, report.ok and recovery.ok)
    report.notes.extend(recovery.notes)
    if lease.note and lease.note != lease_note:  # lost while held, or not given back
        report.notes.append(lease.note)
    if router.delivered:
        report.notes.append(f"{len(router.delivered)} secret(s) delivered to {router.describe()}"
                            + (" (mode 0600)." if all(isinstance(x, FileSink) for x in router.sinks) else "."))
    return _outcome(ApplyResult(planned.plan, report, planned.already_done, recovery.ok, list(router.delivered),
                                list(checked)))


def _planned(client: Any, request: ApplyRequest, emit: Callable[[WorkflowEvent], None]) -> Planned:
    parallelism = request.options.parallelism
    if request.saved is not None:
        planned = replan_saved(client, request.saved, force=request.force, parallelism=parallelism)
        if planned.already_done:
            emit(Note(f"{len(planned.already_done)} step(s) of the saved plan are already applied: "
                      + ", ".join(planned.already_done)))
        return planned
    assert request.desired is not None
    return _plan_config(client, request.desired, request, force=request.force)


def _plan_config(client: Any, desired: DesiredState, planning: Planning, *, force: bool) -> Planned:
    """The config's plan against the live account, its protections (and, without `force`,
    its thresholds) checked: what `plan` shows and `apply` applies."""
    planned = make_plan(client, desired, prune=prune_kinds(planning.prune), targets=planning.targets,
                        replace=planning.replace, parallelism=planning.options.parallelism)
    check_plan(planned, force=force)
    return planned


def _outcome(result: ApplyResult) -> ApplyResult:
    """The result, or ApplyError carrying it when the apply did not do all it should."""
    if result.ok:
        return result
    if result.interrupted:
        raise ApplyInterrupted(f"apply was interrupted: {result.report.summary()}", result)
    if not result.report.ok:
        raise ApplyError(result.report.summary(), result)
    raise ApplyError("a secret lost by an interrupted apply could not be recovered (the notes say which and "
                     "how to rotate it; docs/journal.md)", result)


def _close_journal(journal: ApplyJournal, everything_done: bool) -> None:
    """Empty the journal once all is done; else keep only what a next apply must look at."""
    if everything_done:
        journal.complete()
    else:
        journal.compact()


def _ignore(event: WorkflowEvent) -> None:
    pass
