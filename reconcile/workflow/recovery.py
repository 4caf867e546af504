"""Journal replay: before an apply plans, recover the secrets of calls an earlier apply sent
but never saw answered (docs/journal.md). The journal file itself (its records, lock and
compaction) is `reconcile.apply.journal`; this module decides what each unfinished record
means against the live state and replays the exact request with its idempotency key.

Imports: errors, kinds, apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..apply.journal import ApplyJournal, close_calls_without_secret, secret_call_template
from ..apply.secrets import FileSink, Secret, SecretRouter
from ..errors import ApiError, ApiStatusError, JournalError, ReconcileError
from ..kinds import REGISTRY, KindSpec


class _Retryable(JournalError):
    def __init__(self, address: str, error: Exception):
        super().__init__(f"{address}: could not recover a secret lost by an interrupted apply this time ({error}); "
                         "nothing was changed. Run apply again when the API answers; the journal keeps the request.")

@dataclass
class Recovery:
    """What `recover()` found: notes for the user, and secrets that are lost for good."""

    recovered: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    lost_records: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.lost

    def settle(self, journal: ApplyJournal, succeeded: set[str]) -> None:
        """A lost secret whose resource this apply rotated or replaced is fixed: say so, and
        close its record."""
        for address in [a for a in self.lost if a in succeeded]:
            self.lost.remove(address)
            journal.mark(self.lost_records.pop(address), "resolved", "rotated or replaced since")
            self.notes.append(f"{address}: its new secret was written; the lost one is no longer needed.")


def _file_sinks(router: SecretRouter) -> Iterator[FileSink]:
    for sink in router.sinks:
        if isinstance(sink, FileSink):
            yield sink
    yield router.recovery


def _secret_on_file(router: SecretRouter, address: str, field_name: str, id_: str | None) -> bool:
    for sink in _file_sinks(router):
        try:
            if not sink.has(address, field_name):
                continue
            if sink.format != "json" or id_ is None:
                return True
            entry = sink._read().get(f"{address}.{field_name}", {})
            if entry.get("id") in (None, id_):
                return True
        except ReconcileError:
            continue
    return False


def recover(journal: ApplyJournal, client: Any, router: SecretRouter, *, read_live: Any) -> Recovery:
    """Recover the secrets of calls an earlier apply sent but never saw answered.

    `read_live(client)` returns the LiveState; it is called only when there is something to
    look at. Every unfinished record is closed ("recovered" or "resolved") except a lost
    secret, which stays so every later apply says it again until the key is rotated.
    """
    result = Recovery()
    candidates = []
    for record in close_calls_without_secret(journal):
        spec = REGISTRY[record["kind"]]
        template = secret_call_template(spec, record["method"], record["path"])
        assert template is not None  # close_calls_without_secret kept only secret-producing calls
        candidates.append((record, spec, template))
    # Only the latest secret-producing call of an address matters: an older one's secret
    # (a create before a rotation) was superseded, and replaying it would write a stale one.
    latest = {record["address"]: record["idempotency_key"] for record, _, _ in candidates}
    for record, _, _ in candidates:
        if latest[record["address"]] != record["idempotency_key"]:
            journal.mark(record, "resolved", "superseded by a later call")
    candidates = [c for c in candidates if latest[c[0]["address"]] == c[0]["idempotency_key"]]
    if not candidates:
        return result
    live = read_live(client)
    for record, spec, template in candidates:
        address = record["address"]
        resource = live.resources.get(address)
        if resource is None:
            # The create never took effect (or the object is gone): this apply plans it anew.
            journal.mark(record, "resolved", "not live: the call did not take effect")
            continue
        if record.get("masked"):
            # The body held a secret the user supplied (a webhook's `secret`): nothing is lost,
            # and the masked body cannot be replayed anyway.
            journal.mark(record, "resolved", "the secret was supplied by the configuration")
            continue
        field_name = spec.secret_outputs[0]
        if template == "create" and _secret_on_file(router, address, field_name, resource.id):
            journal.mark(record, "resolved", "secret already on file")
            continue
        outcome = _replay(journal, client, router, record, spec, resource.id, result)
        if outcome:
            result.notes.append(outcome)
    return result


def _replay(journal: ApplyJournal, client: Any, router: SecretRouter, record: dict[str, Any], spec: KindSpec,
            live_id: str | None, result: Recovery) -> str:
    address = record["address"]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.get("ts", 0)))
    fix = (f"Rotate it to get a new secret: reconcile apply ... --replace {address}"
           + (" (a key's old secret stays valid for its grace period)." if spec.api.rotate else "."))
    try:
        response = client.request(record["method"], record["path"], json=record.get("body"),
                                  idempotency_key=record["idempotency_key"])
    except ApiStatusError as exc:
        if exc.status >= 500 or exc.status == 429:
            raise _Retryable(address, exc) from None
        # A 4xx: the API no longer remembers the request (its idempotency record expired), so
        # it tried to act again and refused (409: the name is taken by the object we created).
        result.lost.append(address)
        result.lost_records[address] = record
        return (f"{address}: the {spec.title}'s secret from the interrupted apply of {when} was lost and cannot "
                f"be recovered: replaying the call with its idempotency key failed ({exc}). {fix}")
    except ApiError as exc:
        raise _Retryable(address, exc) from None
    data = getattr(response, "data", response)
    replayed = bool(getattr(response, "replayed", False))
    value = data.get(spec.secret_outputs[0]) if isinstance(data, dict) else None
    id_ = data.get(spec.api.id_field) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        result.lost.append(address)
        result.lost_records[address] = record
        return (f"{address}: the {spec.title}'s secret from the interrupted apply of {when} was lost: the API's "
                f"answer to the replayed call holds no secret. {fix}")
    secret = Secret(address, spec.name, spec.secret_outputs[0], value,
                    project=record.get("project"), id=id_ or live_id)
    router.put(secret)  # a sink failure raises, keeping it in the recovery file
    journal.mark(record, "recovered", "replayed" if replayed else "performed again")
    result.recovered.append(address)
    if replayed:
        return (f"{address}: recovered the secret lost when the apply of {when} was interrupted "
                "(the API replayed the original response).")
    # The API no longer remembered the request and did it again: the secret is a new one.
    return (f"{address}: the API no longer remembered the interrupted call of {when} and performed it "
            f"again; the new secret was written. The previous one is lost; if it was ever used, {fix}")
