"""The executor: runs a Plan's changes as API calls, in dependency order, in parallel.

A step starts as soon as every step it depends on has succeeded, with at most
`parallelism` steps in flight (Terraform's bounded graph walk). Each mutating call carries
an idempotency key derived from the plan's fingerprint and the step, so a retried call (or a
re-run of the same saved plan) cannot act twice. On the first failure no new step starts;
steps in flight finish; the report says what was done, what failed and what never started
(`keep_going` instead skips only what depends on the failure).

Imports: errors, kinds, plan, apply.events/schedule/secrets/journal (and a client by protocol, not imported).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from ..errors import NotFound, ReconcileError, StopApply
from ..kinds import REGISTRY, ApiCall, KindSpec, ReplaceStrategy
from ..kinds.base import default_create_calls, default_update_calls
from ..plan import Action, Change, Plan
from .events import ApplyEvent, ApplyReport, StepResult, StepStatus
from .schedule import Schedule
from .secrets import Secret, SecretRouter

log = logging.getLogger(__name__)


class CallingClient(Protocol):
    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotency_key: str | None = None) -> Any: ...
    @property
    def request_count(self) -> int: ...


class Journal(Protocol):
    def before_call(self, change: Change, call: ApiCall, key: str, index: int | None = None) -> None: ...
    def after_call(self, change: Change, call: ApiCall, key: str, response: Any) -> None: ...


@dataclass(frozen=True)
class ExecutorOptions:
    # No default here: the one default is reconcile.workflow.options.DEFAULT_PARALLELISM.
    parallelism: int
    keep_going: bool = False


class _Ids:
    """Ids of live objects by address, filled in as creates succeed (thread-safe)."""

    def __init__(self, initial: Mapping[str, str]):
        self._ids = dict(initial)
        self._lock = threading.Lock()

    def id_of(self, address: str) -> str:
        with self._lock:
            try:
                return self._ids[address]
            except KeyError:
                raise ReconcileError(f"{address} has no id: it was neither found live nor created") from None

    def set(self, address: str, id_: str) -> None:
        with self._lock:
            self._ids[address] = id_


class Executor:
    def __init__(self, client: CallingClient, plan: Plan, *, live_ids: Mapping[str, str],
                 options: ExecutorOptions, secrets: SecretRouter | None = None,
                 journal: Journal | None = None, on_event: Callable[[ApplyEvent], None] | None = None,
                 idempotency_seed: str | None = None, cancel: threading.Event | None = None):
        self.client = client
        self.plan = plan
        self.options = options
        self.secrets = secrets
        self.journal = journal
        self.on_event = on_event or (lambda e: None)
        self.ids = _Ids(live_ids)
        self.seed = idempotency_seed or plan.fingerprint
        self._stop_secrets = threading.Event()
        # Set by the caller (the CLI's SIGINT/SIGTERM handler, cli/signals.py) to stop the
        # walk: no new step starts, the steps in flight finish. The executor installs no
        # signal handler itself.
        self.cancel = cancel if cancel is not None else threading.Event()

    # -- scheduling ------------------------------------------------------------------
    def run(self) -> ApplyReport:
        started = time.monotonic()
        requests_before = self.client.request_count
        schedule = Schedule(self.plan.changes)
        parallelism = max(1, self.options.parallelism)
        running: dict[Future[StepResult], str] = {}
        stopping = interrupted = False
        # Finished steps arrive here in the order they finish: one put a step, instead of
        # `wait(FIRST_COMPLETED)` installing and removing a waiter on every step in flight
        # at each wakeup (O(parallelism) lock round trips, competing with the workers).
        finished_steps: queue.SimpleQueue[Future[StepResult]] = queue.SimpleQueue()
        with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
            while True:
                if self.cancel.is_set() and not interrupted:
                    # info, not warning: the CLI says it in its own words (the report's last line).
                    log.info("run: interrupted: finishing %d step(s) in flight, starting no new one", len(running))
                    interrupted = stopping = True
                while not stopping and len(running) < parallelism and (step := schedule.next_ready()):
                    self.on_event(ApplyEvent(step.change, StepStatus.RUNNING))
                    future = pool.submit(self._run_step, step.change)
                    running[future] = step.change.address
                    future.add_done_callback(finished_steps.put)
                if not running:
                    break  # anything still pending never became ready: settled below
                try:
                    finished = _drain(finished_steps)
                except KeyboardInterrupt:
                    # Ctrl-C: start nothing new, let the steps in flight finish, then report.
                    interrupted = stopping = True
                    continue
                failed: list[str] = []
                for future in finished:
                    running.pop(future)
                    outcome = future.result()
                    schedule.finished(outcome)
                    self.on_event(ApplyEvent(outcome.change, outcome.status, outcome.error, outcome.elapsed_ms))
                    if outcome.status is not StepStatus.SUCCEEDED:
                        failed.append(outcome.change.address)
                        stopping = stopping or (outcome.status is StepStatus.FAILED and not self.options.keep_going)
                stopping = stopping or self._stop_secrets.is_set()
                for address in failed if not stopping else ():
                    for skipped in schedule.skip_dependents(address):
                        self.on_event(ApplyEvent(skipped.change, StepStatus.SKIPPED, skipped.error))
        return ApplyReport(schedule.settle(), interrupted=interrupted, stopped_early=stopping,
                           elapsed_s=time.monotonic() - started,
                           requests=self.client.request_count - requests_before)

    # -- one step --------------------------------------------------------------------
    def _run_step(self, change: Change) -> StepResult:
        result = StepResult(change, StepStatus.RUNNING)
        t0 = time.monotonic()
        try:
            spec = REGISTRY[change.kind]
            if change.action is Action.CREATE:
                self._create(spec, change, result)
            elif change.action is Action.UPDATE:
                self._update(spec, change, result)
            elif change.action is Action.DELETE:
                self._delete(spec, change, result)
            elif change.action is Action.REPLACE:
                if spec.secret_outputs and self._stop_secrets.is_set():
                    # Checked before the delete: never delete what could not be re-created.
                    raise StopApply("not started: a secret sink failed earlier, and this step would produce a secret")
                if spec.replace_strategy is ReplaceStrategy.CREATE_BEFORE_DELETE:
                    self._create(spec, change, result)
                    self._delete(spec, change, result)
                else:
                    self._delete(spec, change, result)
                    self._create(spec, change, result)
            elif change.action is Action.ROTATE:
                self._rotate(spec, change, result)
            result.status = StepStatus.SUCCEEDED
        except ReconcileError as exc:
            result.status = StepStatus.FAILED
            result.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the other steps' report
            log.exception("_run_step: unexpected error in %s", change.address)
            result.status = StepStatus.FAILED
            result.error = f"internal error: {type(exc).__name__}: {exc}"
        result.elapsed_ms = int((time.monotonic() - t0) * 1000)
        return result

    def _call(self, change: Change, call: ApiCall, index: int, result: StepResult, id_: str | None = None) -> Any:
        path = call.path.replace("{id}", id_) if id_ is not None else call.path
        call = ApiCall(call.method, path, call.body, call.label)
        key = self._idempotency_key(change, index)
        if self.journal is not None:
            self.journal.before_call(change, call, key, index)
        response = self.client.request(call.method, path, json=dict(call.body) if call.body is not None else None,
                                       idempotency_key=key)
        result.calls += 1
        result.replayed = result.replayed or bool(getattr(response, "replayed", False))
        if self.journal is not None:
            self.journal.after_call(change, call, key, response)
        return getattr(response, "data", response)

    def _idempotency_key(self, change: Change, index: int) -> str:
        raw = f"{self.seed}|{change.address}|{change.action.value}|{index}"
        return "rcl-" + hashlib.sha256(raw.encode()).hexdigest()[:40]

    def _api_values(self, spec: KindSpec, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if k in spec.fields and not spec.fields[k].computed}

    def _create(self, spec: KindSpec, change: Change, result: StepResult) -> None:
        if self._stop_secrets.is_set() and spec.secret_outputs:
            raise StopApply("not started: a secret sink failed earlier, and this step would produce a secret")
        values = self._api_values(spec, change.after or {})
        builder = spec.create_calls or default_create_calls
        calls = builder(spec, values, change.identity, self.ids)
        new_id: str | None = None
        for i, call in enumerate(calls):
            data = self._call(change, call, i, result, new_id)
            if i == 0 and isinstance(data, dict):
                new_id = data.get(spec.api.id_field)
                if new_id:
                    self.ids.set(change.address, new_id)
                    result.new_id = new_id
                    result.response = {k: v for k, v in data.items() if k not in spec.secret_outputs}
                self._route_secrets(spec, change, data, new_id, user_given=set(values))

    def _update(self, spec: KindSpec, change: Change, result: StepResult) -> None:
        before = change.before or {}
        # Send what the planner decided differs, never a write-only value: it cannot be
        # compared, so sending it would change it behind the plan's back.
        desired = {k: v for k, v in self._api_values(spec, change.after or {}).items()
                   if not spec.fields[k].write_only}
        # An identity field is sent only for a rename (`renamed_from`): the API renames in place.
        changed = {k: desired[k] for k in change.changed_fields
                   if k in desired and (k not in spec.identity or change.moved_from)}
        builder = spec.update_calls or default_update_calls
        for i, call in enumerate(builder(spec, desired, changed, before, change.live_id, self.ids)):
            self._call(change, call, 10 + i, result)

    def _delete(self, spec: KindSpec, change: Change, result: StepResult) -> None:
        assert spec.api.delete is not None and change.live_id is not None
        try:
            self._call(change, ApiCall(spec.api.delete.method, spec.api.delete.path, None, f"delete {spec.title}"),
                       20, result, change.live_id)
        except NotFound:
            pass  # already gone: the goal of a delete is reached

    def _rotate(self, spec: KindSpec, change: Change, result: StepResult) -> None:
        if spec.rotate_calls is None:
            raise ReconcileError(f"{spec.title}s cannot be rotated")
        if change.diffs:
            self._update(spec, change, result)
        if self._stop_secrets.is_set():
            raise StopApply("not started: a secret sink failed earlier, and this step would produce a secret")
        for i, call in enumerate(spec.rotate_calls(spec, change.meta, change.live_id)):
            data = self._call(change, call, 30 + i, result, change.live_id)
            self._route_secrets(spec, change, data, change.live_id, user_given=set())

    def _route_secrets(self, spec: KindSpec, change: Change, data: Any, id_: str | None, user_given: set[str]) -> None:
        if not isinstance(data, dict):
            return
        for name in spec.secret_outputs:
            value = data.get(name)
            if not value or name in user_given:
                continue  # the user supplied this secret: it is theirs already
            secret = Secret(change.address, change.kind, name, value,
                            project=change.identity[0] if spec.parent else None, id=id_)
            if self.secrets is None:
                continue
            try:
                self.secrets.put(secret)
            except ReconcileError:
                self._stop_secrets.set()
                raise


def _drain(finished_steps: queue.SimpleQueue[Future[StepResult]]) -> list[Future[StepResult]]:
    """The steps finished since the last call: waits for one (the timeout only makes a
    Ctrl-C acknowledged promptly, nothing waits on it), then takes any others at hand."""
    finished: list[Future[StepResult]] = []
    try:
        finished.append(finished_steps.get(timeout=0.5))
        while True:
            finished.append(finished_steps.get_nowait())
    except queue.Empty:
        pass
    return finished


def live_ids(live: Any) -> dict[str, str]:
    return {address: r.id for address, r in live.resources.items() if r.id}
