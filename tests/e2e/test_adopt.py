"""`adopt` is a plan run by the executor, against the emulator served over HTTP: every write
carries an idempotency key, a run killed mid-adopt is picked up by the next one through the
crash journal, and a second run changes nothing.

The emulator is wrapped by an ASGI middleware that records every mutating `/v1` request
with its `Idempotency-Key` header, as the API receives it. The kill is a test-only fault in
the client (`Crash`, not an error any layer handles) raised when an update's answer has
arrived: the stamp took effect, nothing of the tool saw the answer (the worst case).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import Emulator, live_server

from reconcile.apply.journal import ApplyJournal
from reconcile.client import InfraiClient
from reconcile.kinds import REGISTRY
from reconcile.kinds.project import LEASE_PROJECT, STACK_METADATA_KEY
from reconcile.workflow.adopt import adopt

PROJECTS = [f"projects.p{i}" for i in range(4)]


class Writes:
    """ASGI middleware: (method, path, Idempotency-Key or None) of every mutating `/v1` request."""

    def __init__(self, app: Any):
        self.app, self.seen = app, []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/") and scope["method"] != "GET":
            key = dict(scope["headers"]).get(b"idempotency-key")
            self.seen.append((scope["method"], scope["path"], key.decode() if key else None))
        await self.app(scope, receive, send)

    def stamps(self) -> list[tuple[str, str, str | None]]:
        """The writes that are not the account lease's (its project is created and deleted)."""
        return [w for w in self.seen if w[0] == "PATCH"]


class Crash(BaseException):
    """The process dying: a BaseException, so no `except Exception` of the tool handles it."""


class CrashingClient:
    """The tool's client, killed when the answer of its `after`-th update has arrived."""

    def __init__(self, client: InfraiClient, after: int):
        self.client, self.after, self.updates = client, after, 0
        self._lock = threading.Lock()

    def request(self, method: str, path: str, **kw: Any) -> Any:
        response = self.client.request(method, path, **kw)
        if method == "PATCH":
            with self._lock:
                self.updates += 1
                if self.updates == self.after:
                    raise Crash
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Emulator, Writes, InfraiClient]]:
    emu = Emulator(tmp_path / "served.db")
    for address in PROJECTS:
        emu.api.request("POST", "/v1/account/projects/create", json={"name": address.split(".")[1], "metadata": {"n": "1"}})
    writes = Writes(emu.app)
    with live_server(writes) as url, InfraiClient(url, emu.key) as client:
        yield emu, writes, client
    emu.close()


def owners(emu: Emulator) -> dict[str, tuple[str, dict]]:
    """Project name → (id, metadata), the lease project excluded."""
    return {p["name"]: (p["id"], p["metadata"]) for p in emu.api.list_all("/v1/account/projects/list")
            if p["name"] not in ("default", LEASE_PROJECT)}


def test_every_write_of_adopt_carries_an_idempotency_key(served, tmp_path):
    emu, writes, client = served
    outcomes = adopt(client, PROJECTS, "blue", journal_path=tmp_path / "journal.jsonl")
    assert outcomes == [(a, "adopted (was not owned by any stack)") for a in PROJECTS]
    assert writes.seen, "adopt sent no write"
    assert [w for w in writes.seen if not w[2]] == [], "a write without an Idempotency-Key"
    stamps = writes.stamps()
    assert sorted(path for _, path, _ in stamps) == sorted(f"/v1/account/projects/update/{pid}"
                                                           for pid, _ in owners(emu).values())
    assert len({key for _, _, key in stamps}) == len(PROJECTS)  # one key per step, never shared
    # The marker is merged into what was there: the user's metadata is kept.
    assert [m for _, m in owners(emu).values()] == [{"n": "1", STACK_METADATA_KEY: "blue"}] * len(PROJECTS)
    assert (tmp_path / "journal.jsonl").read_text() == ""  # all done: nothing left to recover


def test_adopt_twice_changes_nothing_the_second_time(served, tmp_path):
    emu, writes, client = served
    adopt(client, PROJECTS, "blue", journal_path=tmp_path / "journal.jsonl")
    settled = owners(emu)
    writes.seen.clear()
    outcomes = adopt(client, PROJECTS, "blue", journal_path=tmp_path / "journal.jsonl")
    assert outcomes == [(a, "already owned by stack 'blue'") for a in PROJECTS]
    assert writes.stamps() == []  # only the account lease was taken and given back
    assert owners(emu) == settled


def test_a_crash_mid_adopt_is_picked_up_through_the_journal(served, tmp_path):
    emu, writes, client = served
    journal_path = tmp_path / "journal.jsonl"
    with pytest.raises(Crash):
        adopt(CrashingClient(client, after=2), PROJECTS, "blue", parallelism=1, journal_path=journal_path)
    stamped = {n for n, (_, m) in owners(emu).items() if m.get(STACK_METADATA_KEY) == "blue"}
    assert stamped == {"p0", "p1"}  # the second stamp took effect; its answer was lost
    with ApplyJournal(journal_path) as journal:
        unfinished = journal.unfinished()
    # What the journal holds is what the API received: the one call whose answer nobody saw.
    assert [(r["address"], r["state"]) for r in unfinished] == [("projects.p1", "sent")]
    assert unfinished[0]["idempotency_key"] == writes.stamps()[1][2]
    writes.seen.clear()

    outcomes = adopt(client, PROJECTS, "blue", parallelism=1, journal_path=journal_path)
    assert outcomes == [("projects.p0", "already owned by stack 'blue'"), ("projects.p1", "already owned by stack 'blue'"),
                        ("projects.p2", "adopted (was not owned by any stack)"),
                        ("projects.p3", "adopted (was not owned by any stack)")]
    ids = {n: pid for n, (pid, _) in owners(emu).items()}
    assert [path for _, path, _ in writes.stamps()] == [f"/v1/account/projects/update/{ids[n]}" for n in ("p2", "p3")]
    assert all(m[STACK_METADATA_KEY] == "blue" for _, m in owners(emu).values())
    assert journal_path.read_text() == ""  # the crashed run's record was closed, then all emptied


def test_an_interrupted_applys_secret_is_left_for_apply(served, tmp_path):
    """adopt has no secrets sink: a secret-producing call in the journal stays for `apply`."""
    _, _, client = served
    journal_path = tmp_path / "journal.jsonl"
    lost = {"address": "projects.p0.keys.k", "kind": "api_key", "method": "POST",
            "path": REGISTRY["api_key"].api.create.path, "idempotency_key": "rcl-lost", "state": "sent"}
    journal_path.write_text(json.dumps(lost) + "\n")
    notes: list[str] = []
    adopt(client, PROJECTS[:1], "blue", journal_path=journal_path, on_note=notes.append)
    assert len(notes) == 1 and "only `reconcile apply` can recover" in notes[0], notes
    with ApplyJournal(journal_path) as journal:
        assert [r["idempotency_key"] for r in journal.unfinished()] == ["rcl-lost"]
