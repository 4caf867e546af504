"""The account lease against a fake API: taken, refused, taken over, or skipped with a note."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import threading

from reconcile.apply.lease import acquire, holding, journal_id, release, renew
from reconcile.errors import Conflict, Forbidden, LeaseHeld, NotFound

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class FakeApi:
    """Projects by name; a create of a taken name is a 409, as in the API."""

    def __init__(self, refuse: Exception | None = None):
        self.now = NOW
        self.projects: dict[str, dict[str, Any]] = {}
        self.refuse = refuse
        self.deleted: list[str] = []
        self.patched: list[Any] = []
        self.renewed = threading.Event()

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotency_key: str | None = None) -> Any:
        if method == "POST":
            if self.refuse is not None:
                raise self.refuse
            if json["name"] in self.projects:
                raise Conflict(409, "CONFLICT", "a project named that already exists", "POST", path)
            project = {"id": f"p{len(self.projects) + len(self.deleted)}", "created_at": _iso(self.now), **json}
            self.projects[json["name"]] = project
            return project
        if method == "GET":  # whoami
            return {"server_time": _iso(self.now)}
        if method == "PATCH":  # projects.update: the metadata is replaced as a whole
            self.patched.append(json)
            project = next((p for p in self.projects.values() if path.endswith("/" + p["id"])), None)
            if project is None:
                raise NotFound(404, "NOT_FOUND", "no such project", method, path)
            project["metadata"] = json["metadata"]
            self.renewed.set()
            return project
        pid = path.rsplit("/", 1)[-1]
        self.deleted.append(pid)
        self.projects = {n: p for n, p in self.projects.items() if p["id"] != pid}
        return {"deleted": True}

    def list_all(self, path: str, **kw: Any) -> list[dict[str, Any]]:
        return list(self.projects.values())


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_taken_then_refused_to_a_second_then_released():
    api = FakeApi()
    first = acquire(api, holder="a@h pid 1 run x")
    assert first.held and api.projects["infrai-reconcile-lease"]["metadata"]["infrai-reconcile/lease"]["ttl_seconds"] \
        == 1800
    api.now = NOW + timedelta(minutes=5)  # the API's clock judges the lease
    with pytest.raises(LeaseHeld, match=r"held by a@h pid 1 run x since 2026-01-01T12:00:00Z \(until "
                                        r"2026-01-01T12:30:00Z\).*DELETE /v1/account/projects/delete/p0"):
        acquire(api)
    release(api, first)
    assert not first.held and api.projects == {}
    assert acquire(api, now=NOW).held


def test_an_expired_lease_or_one_left_under_our_own_journal_is_taken_over():
    api = FakeApi()
    acquire(api, holder="dead")
    api.now = NOW + timedelta(minutes=31)
    assert acquire(api).held  # expired
    api = FakeApi()
    mine = journal_id("/tmp/x/.infrai-journal.jsonl")
    acquire(api, now=NOW, holder="killed", journal=mine)
    with pytest.raises(LeaseHeld):
        acquire(api, now=NOW, journal=journal_id("/tmp/other/.infrai-journal.jsonl"))
    assert acquire(api, now=NOW, journal=mine).held


@pytest.mark.parametrize("refusal", [Forbidden(403, "FORBIDDEN", "missing scope projects:write", "POST", "/x"),
                                     Conflict(409, "LIMIT", "project limit reached", "POST", "/x")])
def test_a_lease_that_cannot_be_taken_leaves_a_note_and_does_not_block(refusal):
    lease = acquire(FakeApi(refuse=refusal), now=NOW)
    assert not lease.held and "not guarded against another" in lease.note


def test_reading_the_account_never_sees_the_lease_project(tmp_path):
    """Plan, export, recovery and drift all read through read_live: the lease is dropped there,
    once, so an export taken while an apply holds the lease does not write it out."""
    import httpx

    from reconcile.client import InfraiClient
    from reconcile.client.asgi import SyncASGITransport
    from reconcile.emulator.app import create_app
    from reconcile.kinds.project import LEASE_PROJECT
    from reconcile.live import read_live

    app = create_app(str(tmp_path / "a.db"))
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://emulator") as http, \
            InfraiClient("http://emulator", app.state.emulator.bootstrap_secret, http=http) as client:
        held = acquire(client, journal=None)
        assert any(p["name"] == LEASE_PROJECT for p in client.list_all("/v1/account/projects/list"))
        live = read_live(client, parallelism=4)
        assert "projects.default" in live.resources
        assert not [a for a in live.resources if LEASE_PROJECT in a]
        release(client, held)


def _ttl(api: FakeApi) -> int:
    return api.projects["infrai-reconcile-lease"]["metadata"]["infrai-reconcile/lease"]["ttl_seconds"]


def test_a_renewed_lease_outlives_its_first_time_to_live():
    api = FakeApi()
    lease = acquire(api, holder="a@h pid 1 run x")
    renew(api, lease, held_for=timedelta(minutes=40))  # an apply 40 minutes in
    assert _ttl(api) == 1800 + 2400 + 1
    assert api.projects["infrai-reconcile-lease"]["metadata"]["infrai-reconcile/lease"]["holder"] == "a@h pid 1 run x"
    api.now = NOW + timedelta(minutes=45)  # past the first 30 minutes: still held, not taken over
    with pytest.raises(LeaseHeld, match=r"until 2026-01-01T13:10:01Z"):
        acquire(api)


def test_a_lease_deleted_under_a_running_apply_is_not_taken_again_and_says_so():
    api = FakeApi()
    lease = acquire(api)
    api.projects.clear()  # broken by hand
    renew(api, lease, held_for=timedelta(minutes=10))
    assert not lease.held and "was deleted while this apply ran" in lease.note
    assert api.projects == {}


def test_holding_renews_in_the_background_and_releases_after():
    api = FakeApi()
    with holding(api, renew_every=timedelta(milliseconds=10), clock=lambda: 60.0) as lease:
        assert lease.held
        assert api.renewed.wait(5), "the heartbeat never renewed the lease"
    assert api.projects == {} and not lease.held
    assert api.patched and all(p["metadata"]["infrai-reconcile/lease"]["ttl_seconds"] == 1801 for p in api.patched)


def test_holding_gives_the_lease_back_after_an_error():
    api = FakeApi()
    with pytest.raises(RuntimeError):
        with holding(api):
            raise RuntimeError("a step failed")
    assert api.projects == {}
