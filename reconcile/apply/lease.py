"""The account lease: a best-effort lock so two applies never run on one account at once.

The journal's `flock` serialises applies that share a directory; two CI runners or two
laptops do not share one. The API has no lock, but it keeps project names unique, and
creating a project is atomic: of two applies creating the project `infrai-reconcile-lease`
at once, one gets 409. So the lease *is* that project, its metadata saying who holds it
(host, process, run id) and for how long (`ttl_seconds`, from the project's `created_at`:
the API's clock).
An apply takes it before its first step and deletes it when done (also after a failure or
Ctrl-C); a holder that died leaves it to expire, after which the next apply takes it over.
While held (`holding`), a heartbeat renews it every third of its time to live, by raising
`ttl_seconds` by the time that passed (measured on our monotonic clock, so no clock of ours
is compared with the API's): an apply that runs longer than 30 minutes is not taken over.

Best-effort: a key without `projects:write` (or an account at its project limit) cannot take
it; the apply then says so and runs unguarded. Reading the account never sees the lease
project (kinds/project.py drops it as it is read), so no plan, export or drift report has it.

Imports: errors, kinds (and a client by protocol: `request` and `list_all`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from secrets import token_hex
from typing import Any, Callable, Iterator, Protocol

from ..errors import ApiStatusError, Conflict, LeaseHeld, NotFound, ReconcileError
from ..kinds.project import LEASE_METADATA_KEY, LEASE_PROJECT
from ..kinds.units import parse_api_time

DEFAULT_TTL = timedelta(minutes=30)
LIST = "/v1/account/projects/list"


class LeaseClient(Protocol):
    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotency_key: str | None = None) -> Any: ...
    def list_all(self, path: str, *, params: Any = None, paginated: bool = True, page_size: int = 1000) -> list[dict[str, Any]]: ...


@dataclass
class Lease:
    """A lease taken (`project_id` set) or not (`note` says why the apply runs unguarded)."""

    run_id: str
    project_id: str | None = None
    note: str = ""
    # The lease's metadata record as written, and its time to live: what a renewal rewrites.
    record: dict[str, Any] = field(default_factory=dict)
    ttl: timedelta = DEFAULT_TTL

    @property
    def held(self) -> bool:
        return self.project_id is not None


def holder_text(run_id: str) -> str:
    """`alice@build-7 pid 4242 run 1f2e3d…`: enough to find the process, or see it is gone."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or os.environ.get("GITHUB_ACTOR") or "someone"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} run {run_id}"


def journal_id(path: str | os.PathLike[str]) -> str:
    """Which crash journal (host and file) an apply holds, as a digest: the lease names it so
    the next apply with the same journal knows a leftover lease is its dead predecessor's."""
    where = f"{socket.gethostname()}:{os.path.realpath(path)}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def acquire(client: LeaseClient, now: datetime | None = None, ttl: timedelta = DEFAULT_TTL,
            holder: str | None = None, journal: str | None = None) -> Lease:
    """Take the lease, or raise LeaseHeld naming who holds it, since when and how to break it.

    Its time is the API's: it is held since the project's `created_at`, for `ttl_seconds`
    (no clock of ours is compared with the API's; `now`, when not given, is read from
    `whoami` only when there is a lease to judge). Taken over (deleted, then taken), once:
    an expired lease (its holder died), and one held under our own `journal` id: applies
    with one journal never overlap (its flock, which our caller holds), so that holder is
    not running: it was killed, and this is the apply that runs again to recover."""
    run_id = token_hex(6)
    record = {"holder": holder or holder_text(run_id), "run_id": run_id, "ttl_seconds": int(ttl.total_seconds()),
              **({"journal": journal} if journal else {})}
    for attempt in (1, 2):
        try:
            data = _data(client.request("POST", "/v1/account/projects/create",
                                        json={"name": LEASE_PROJECT, "metadata": {LEASE_METADATA_KEY: record}},
                                        idempotency_key=f"rcl-lease-{run_id}-{attempt}"))
            return Lease(run_id, str(data.get("id")) if isinstance(data, dict) else None, record=record, ttl=ttl)
        except Conflict as exc:
            current = _current(client)
            if current is None:
                if attempt == 1:
                    continue  # released between our create and our read: try once more
                return _unguarded(run_id, exc)  # a 409 that is not about the name (a project limit)
            held, project_id = current
            expires = _expiry(held)
            now = now or _server_now(client)
            expired = expires is not None and expires <= now
            if attempt == 1 and (expired or (journal is not None and held.get("journal") == journal)):
                _delete(client, project_id)  # its holder died
                continue
            raise LeaseHeld(_held_message(held, project_id)) from None
        except ApiStatusError as exc:  # no projects:write, a project limit: run unguarded, and say so
            return _unguarded(run_id, exc)
    raise LeaseHeld(f"another apply keeps taking the account lease (project {LEASE_PROJECT}); try again")


def _expiry(held: dict[str, Any]) -> datetime | None:
    since = parse_api_time(held.get("since"))
    ttl = held.get("ttl_seconds")
    if since is None or not isinstance(ttl, (int, float)) or isinstance(ttl, bool):
        return None
    return since + timedelta(seconds=ttl)


def _server_now(client: LeaseClient) -> datetime:
    try:
        who = _data(client.request("GET", "/v1/account/whoami"))
    except ApiStatusError:
        who = None
    server = parse_api_time(who.get("server_time")) if isinstance(who, dict) else None
    return server or datetime.now(timezone.utc)


def _unguarded(run_id: str, exc: Exception) -> Lease:
    return Lease(run_id, note=f"Note: the account lease could not be taken ({exc.__class__.__name__}: "
                              f"{str(exc).splitlines()[0]}); this apply is not guarded against another "
                              "running on the same account at the same time (docs/journal.md).")


def renew(client: LeaseClient, lease: Lease, held_for: timedelta) -> None:
    """Extend the lease to `held_for` + its time to live from when it was taken. A lease that
    is gone (broken by hand, or taken over) is not taken again mid-apply: the note says so."""
    if lease.project_id is None:
        return
    seconds = int(lease.ttl.total_seconds() + held_for.total_seconds()) + 1
    record = {**lease.record, "ttl_seconds": seconds}
    try:
        client.request("PATCH", f"/v1/account/projects/update/{lease.project_id}",
                       json={"metadata": {LEASE_METADATA_KEY: record}},
                       idempotency_key=f"rcl-lease-renew-{lease.run_id}-{seconds}")
    except NotFound:
        lease.note = (f"Note: the account lease (project {LEASE_PROJECT}) was deleted while this apply ran; "
                      "from then on it was not guarded against another apply on the same account.")
        lease.project_id = None
        return
    except ReconcileError:
        return  # a failed renewal is retried at the next beat; the lease still has time left
    lease.record = record


@contextlib.contextmanager
def holding(client: LeaseClient, *, now: datetime | None = None, journal: str | None = None,
            ttl: timedelta = DEFAULT_TTL, renew_every: timedelta | None = None,
            clock: Callable[[], float] = time.monotonic) -> Iterator[Lease]:
    """Take the lease, renew it in the background while the block runs, give it back after
    (also after a failure or Ctrl-C). Raises LeaseHeld as `acquire` does."""
    lease = acquire(client, now=now, ttl=ttl, journal=journal)
    stop = threading.Event()
    beat: threading.Thread | None = None
    if lease.held:
        interval = (renew_every or ttl / 3).total_seconds()
        taken = clock()

        def heartbeat() -> None:
            while not stop.wait(interval) and lease.held:
                renew(client, lease, timedelta(seconds=clock() - taken))

        beat = threading.Thread(target=heartbeat, name="lease-heartbeat", daemon=True)
        beat.start()
    try:
        yield lease
    finally:
        stop.set()
        if beat is not None:
            beat.join(timeout=5)  # a renewal in flight ends within the client's own timeout
        release(client, lease)


def release(client: LeaseClient, lease: Lease) -> None:
    """Give the lease back (idempotent: a lease already gone is fine). A failure to do so
    only leaves a note: the lease then expires by itself."""
    if lease.project_id is None:
        return
    try:
        _delete(client, lease.project_id)
    except ReconcileError as exc:
        lease.note = (f"Note: the account lease (project {LEASE_PROJECT}, id {lease.project_id}) could not be "
                      f"released ({str(exc).splitlines()[0]}); it expires by itself, or delete that project.")
    lease.project_id = None


def _current(client: LeaseClient) -> tuple[dict[str, Any], str] | None:
    for project in client.list_all(LIST):
        if isinstance(project, dict) and project.get("name") == LEASE_PROJECT:
            record = (project.get("metadata") or {}).get(LEASE_METADATA_KEY)
            record = {**(record if isinstance(record, dict) else {}), "since": project.get("created_at")}
            return record, str(project.get("id"))
    return None


def _delete(client: LeaseClient, project_id: str) -> None:
    try:
        client.request("DELETE", f"/v1/account/projects/delete/{project_id}",
                       idempotency_key=f"rcl-lease-release-{project_id}")
    except NotFound:
        pass


def _held_message(held: dict[str, Any], project_id: str) -> str:
    who = held.get("holder") or "an unknown holder"
    expires = _expiry(held)
    return (f"another apply is running on this account: the account lease is held by {who} since "
            f"{held.get('since') or 'an unknown time'} (until {_iso(expires) if expires else 'unknown'}). "
            "Wait for it to finish and run apply again. If no apply is running (its holder died), the lease "
            f"expires by itself; to break it now, delete the project {LEASE_PROJECT} (id {project_id}): "
            f"DELETE /v1/account/projects/delete/{project_id}.")


def _data(response: Any) -> Any:
    return getattr(response, "data", response)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
