"""`--atomic`: after a failed apply, undo the reversible steps it made.

The undo is itself a plan, run by the same executor: a create is undone by deleting what
it created, an update by writing back its before values. Deletes, replacements and
rotations cannot be undone (an id or a secret is gone): they are reported as such. Undo
steps run in the reverse dependency order of the steps they undo (a key's undo before its
project's).

Imports: kinds, plan, apply.events.
"""

from __future__ import annotations

from dataclasses import replace

from ..kinds import REGISTRY
from ..plan import Action, Change, FieldDiff, Plan
from .events import ApplyReport, StepStatus


def undo_plan(plan: Plan, report: ApplyReport) -> tuple[Plan, list[str]]:
    """The plan that undoes the succeeded steps of `report`, and the steps it cannot undo."""
    # A failed create may still have made its object (a follow-up call failed): undo it too.
    done = [r for r in report.results if r.status is StepStatus.SUCCEEDED
            or (r.status is StepStatus.FAILED and r.change.action is Action.CREATE and r.new_id)]
    undo: dict[str, Change] = {}
    irreversible: list[str] = []
    for r in done:
        c = r.change
        spec = REGISTRY[c.kind]
        if c.action is Action.CREATE and r.new_id and spec.api.delete is not None:
            undo[c.address] = Change(
                address=c.address, kind=c.kind, identity=c.identity, action=Action.DELETE, before=c.after,
                after=None, reasons=("undo: it was created by the failed apply",), live_id=r.new_id, level=c.level)
        elif c.action is Action.UPDATE and c.before is not None and not c.irreversible:
            undo[c.address] = Change(
                address=c.address, kind=c.kind, identity=c.identity, action=Action.UPDATE, before=c.after,
                after=c.before, diffs=tuple(FieldDiff(d.path, d.after, d.before, d.sensitive) for d in c.diffs),
                reasons=("undo: restore the values before the failed apply",), live_id=c.live_id, level=c.level)
        else:
            irreversible.append(f"{c.address} ({c.action.value})")
    # Reverse every dependency edge between undone steps.
    dependents: dict[str, list[str]] = {a: [] for a in undo}
    for r in done:
        for dep in r.change.depends_on:
            if dep in undo and r.change.address in undo:
                dependents[dep].append(r.change.address)
    changes = tuple(replace(c, depends_on=tuple(sorted(dependents[c.address])))
                    for c in reversed([undo[r.change.address] for r in done if r.change.address in undo]))
    return replace(plan, changes=changes, unmanaged=(), warnings=()), irreversible


def mark_undone(report: ApplyReport, undo_report: ApplyReport, irreversible: list[str]) -> None:
    """Fold the undo's outcome into the apply report, so the final report stays true."""
    undone = {r.change.address for r in undo_report.results if r.status is StepStatus.SUCCEEDED}
    failed = {r.change.address: r.error for r in undo_report.results if r.status is not StepStatus.SUCCEEDED}
    for r in report.results:
        if r.status is StepStatus.SUCCEEDED and r.change.address in undone:
            r.status = StepStatus.UNDONE
        elif r.status is StepStatus.FAILED and r.change.address in undone:
            r.error = f"{r.error}; what it had created was removed"
        elif r.status is StepStatus.SUCCEEDED and r.change.address in failed:
            r.error = f"could not be undone: {failed[r.change.address]}"
    if irreversible:
        report.notes.append("--atomic could not undo (irreversible): " + ", ".join(irreversible))
    if failed:
        report.notes.append(f"--atomic: {len(failed)} undo step(s) failed; run plan to see the account as it is")
    elif undone:
        report.notes.append(f"--atomic: undid {len(undone)} step(s); the account is as it was before this apply"
                            + (" except for the irreversible steps above" if irreversible else ""))
