"""`reconcile adopt` in library form: stamp a stack's ownership marker on existing objects.

The stamps are a plan of UPDATEs (plan/ownership.py `adoption`) run by the executor like any
apply: each call with an idempotency key, recorded in the crash journal, at most
`parallelism` at a time, under the account lease. A run that was killed is picked up by
the next one (adopt or apply): it closes the journal's records of the calls it sent (they
carry no secret) and reads the live state, where a stamp that took effect is already owned.

Imports: errors, apply, live, plan, workflow.options.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from secrets import token_hex
from typing import Any, Callable, Iterable

from ..apply import ApplyReport, Executor, ExecutorOptions, StepStatus, live_ids
from ..apply import lease as account_lease
from ..apply.journal import ApplyJournal, close_calls_without_secret, default_journal_path
from ..errors import ApplyError, ApplyInterrupted
from ..live import read_live
from ..plan import ownership
from .events import StepsFinished, StepsStarting, WorkflowEvent
from .options import DEFAULT_PARALLELISM

log = logging.getLogger(__name__)


def adopt(client: Any, addresses: Iterable[str], stack: str, *, parallelism: int = DEFAULT_PARALLELISM,
          journal_path: str | Path | None = None, on_note: Callable[[str], None] | None = None,
          on_event: Callable[[WorkflowEvent], None] | None = None,
          cancel: threading.Event | None = None) -> list[tuple[str, str]]:
    """Stamp `stack`'s ownership marker on the live objects at `addresses`.

    Returns (address, outcome) pairs in the order given (`adopted (was not owned by any
    stack)`, `adopted from stack 'x'`, `already owned by stack 'x'`). Raises ReconcileError
    naming every address that does not exist or cannot carry a marker before changing
    anything; ApplyError (ApplyInterrupted on Ctrl-C) when a stamp failed or never ran.
    `journal_path` defaults to the apply journal of the working directory; `on_note`
    receives what the user should know besides (the lease could not be taken; secrets of an
    interrupted apply are left for `reconcile apply`). `on_event` sees StepsStarting and
    StepsFinished around the stamps and each stamp's ApplyEvent; setting `cancel` starts no
    new stamp.
    """
    emit = on_event or (lambda event: None)
    note = on_note or log.warning
    with ApplyJournal(journal_path or default_journal_path(None)) as journal, \
            account_lease.holding(client, journal=account_lease.journal_id(journal.path)) as held:
        left_for_apply = close_calls_without_secret(journal)
        if left_for_apply:
            note(f"the journal {journal.path} holds {len(left_for_apply)} call(s) of an interrupted apply whose "
                 "secrets only `reconcile apply` can recover; run it with the same --journal and --secrets-out")
        live = read_live(client, parallelism=parallelism)
        adoption = ownership.adoption(live, addresses, stack)
        report = ApplyReport([])
        if adoption.plan.changes:
            # A fresh random part per run, as for apply: the same stamps planned again later
            # (the marker was removed meanwhile) must not replay the API's stored answers.
            seed = f"{adoption.plan.fingerprint}:{token_hex(8)}"
            journal.start_run(adoption.plan.fingerprint, seed)
            emit(StepsStarting(len(adoption.plan.changes)))
            try:
                report = Executor(client, adoption.plan, live_ids=live_ids(live),
                                  options=ExecutorOptions(parallelism=parallelism), journal=journal,
                                  idempotency_seed=seed, on_event=emit, cancel=cancel).run()
            finally:
                emit(StepsFinished())
        if report.ok and not left_for_apply:
            journal.complete()
        else:
            journal.compact()
    if held.note:
        note(held.note)
    if not report.ok:
        error = ApplyInterrupted if report.interrupted else ApplyError
        raise error(_unfinished_message(adoption, report), report)
    return [(address, adoption.already.get(address) or adoption.done[address]) for address in adoption.order]


def _unfinished_message(adoption: ownership.Adoption, report: ApplyReport) -> str:
    status = {r.change.address: r for r in report.results}
    lines = []
    for address in adoption.order:
        result = status.get(address)
        if result is None:
            lines.append(f"{address}: {adoption.already[address]}")
        elif result.status is StepStatus.SUCCEEDED:
            lines.append(f"{address}: {adoption.done[address]}")
        else:
            lines.append(f"{address}: {result.status.value.replace('_', ' ')}"
                         + (f": {result.error}" if result.error else ""))
    how = "was interrupted" if report.interrupted else "did not finish"
    return f"adopt {how}:\n  " + "\n  ".join(lines) + "\nRun adopt again to continue."
