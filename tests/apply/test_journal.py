"""The crash journal: what it records (masked, fsynced "sent", id-only "done"), which
records stay unfinished, its lock and close, and `recover()` against a fake API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from plan_builders import desired, key, live, project, want  # noqa: E402

from reconcile.apply.journal import ApplyJournal, close_calls_without_secret  # noqa: E402
from reconcile.workflow.recovery import recover  # noqa: E402
from reconcile.apply.secrets import FileSink, Secret, SecretRouter  # noqa: E402
from reconcile.errors import ApiStatusError, JournalError  # noqa: E402
from reconcile.kinds import ApiCall  # noqa: E402
from reconcile.plan import Change, build_plan  # noqa: E402
from reconcile.redact import MASK  # noqa: E402

HOOK = "https://hooks.example.com/a"
KEY_SECRET = "ifr-test-secret-" + "k" * 32
CREATE_KEY = ApiCall("POST", "/v1/account/keys/create", {"project_id": "p1", "name": "ci", "scopes": []})


def change(*resources: Any) -> Change:
    return build_plan(desired(*resources), live(project("p1", "web"))).changes[-1]


KEY = change(want("api_key", project="web", name="ci"))
PROJECT = change(want("project", name="api"))


@pytest.fixture
def journal(tmp_path: Path) -> ApplyJournal:
    with ApplyJournal(tmp_path / "journal.jsonl") as j:
        j.start_run("fp-1")
        yield j


def lines(j: ApplyJournal) -> list[dict[str, Any]]:
    return [json.loads(x) for x in j.path.read_text().splitlines()]


# -- recording ----------------------------------------------------------------------
def test_a_sent_line_holds_the_request_with_secrets_masked_and_a_done_line_only_the_id(journal) -> None:
    hook = change(want("webhook", url=HOOK, events=["key.rotated"], secret="user-given-secret"))
    call = ApiCall("POST", "/v1/account/webhooks/register", {"url": HOOK, "secret": "user-given-secret"})
    journal.before_call(hook, call, "idem-1", index=0)
    journal.after_call(hook, call, "idem-1", {"id": "wh_1", "secret": "server-echo-secret"})
    sent, done = lines(journal)
    assert sent["state"] == "sent" and sent["plan_fingerprint"] == "fp-1" and sent["call_index"] == 0
    assert (sent["method"], sent["path"], sent["idempotency_key"]) == ("POST", call.path, "idem-1")
    assert sent["body"] == {"url": HOOK, "secret": MASK} and sent["masked"] == ["secret"]
    assert {k: done[k] for k in ("state", "id", "idempotency_key")} == {"state": "done", "id": "wh_1",
                                                                       "idempotency_key": "idem-1"}
    assert "secret" not in journal.path.read_text().replace('"secret":"(sensitive)"', "").replace('"masked":["secret"]', "")
    assert journal.path.stat().st_mode & 0o777 == 0o600


def test_a_key_records_its_project_for_the_secrets_file(journal) -> None:
    journal.before_call(KEY, CREATE_KEY, "idem-k")
    assert lines(journal)[0]["project"] == "web" and lines(journal)[0]["masked"] == []


# -- what stays unfinished ------------------------------------------------------------
def test_unfinished_keeps_sent_calls_and_answered_ones_that_produce_a_secret(journal) -> None:
    create_project = ApiCall("POST", "/v1/account/projects/create", {"name": "api"})
    journal.before_call(PROJECT, create_project, "p-answered")
    journal.after_call(PROJECT, create_project, "p-answered", {"id": "p2"})
    journal.before_call(PROJECT, create_project, "p-lost")
    journal.before_call(KEY, CREATE_KEY, "k-answered")
    journal.after_call(KEY, CREATE_KEY, "k-answered", {"key_id": "k9", "key_secret": KEY_SECRET})
    journal.before_call(KEY, CREATE_KEY, "k-closed")
    journal.mark(lines(journal)[-1], "recovered")
    got = {r["idempotency_key"]: r.get("done_id") for r in journal.unfinished()}
    assert got == {"p-lost": None, "k-answered": "k9"}
    assert KEY_SECRET not in journal.path.read_text()


def test_a_torn_last_line_is_ignored(journal) -> None:
    journal.before_call(KEY, CREATE_KEY, "k-1")
    with open(journal.path, "ab") as f:
        f.write(b'{"state":"sent","idempotency_key":"k-2","addr')
    assert [r["idempotency_key"] for r in journal.records()] == ["k-1"]


def test_compact_keeps_only_the_unfinished_and_complete_empties_the_file(journal) -> None:
    create_project = ApiCall("POST", "/v1/account/projects/create", {"name": "api"})
    journal.before_call(PROJECT, create_project, "p-done")
    journal.after_call(PROJECT, create_project, "p-done", {"id": "p2"})
    journal.before_call(KEY, CREATE_KEY, "k-lost")
    journal.compact()
    assert [(r["idempotency_key"], r["state"]) for r in lines(journal)] == [("k-lost", "sent")]
    journal.complete()
    assert journal.path.read_text() == ""


def test_close_calls_without_secret_resolves_them_and_returns_the_rest(journal) -> None:
    journal.before_call(PROJECT, ApiCall("POST", "/v1/account/projects/create", {"name": "api"}), "p-1")
    journal.before_call(KEY, CREATE_KEY, "k-1")
    assert [r["idempotency_key"] for r in close_calls_without_secret(journal)] == ["k-1"]
    assert [r["idempotency_key"] for r in journal.unfinished()] == ["k-1"]
    assert lines(journal)[-1]["note"] == "no secret in its response"


# -- lock and close -------------------------------------------------------------------
def test_one_journal_file_serves_one_apply_at_a_time(journal) -> None:
    with pytest.raises(JournalError, match="another apply is running with the journal"):
        ApplyJournal(journal.path)
    journal.close()
    ApplyJournal(journal.path).close()  # the lock went with the close
    with pytest.raises(JournalError, match="is closed"):
        journal.before_call(KEY, CREATE_KEY, "k-late")


def test_an_unwritable_journal_names_the_flag_to_use(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(JournalError, match=r"pass --journal FILE \(or INFRAI_JOURNAL\)"):
        ApplyJournal(tmp_path / "file" / "journal.jsonl")


# -- recovery ---------------------------------------------------------------------------
class Api:
    """Answers a replayed call with `answer` (or raises it), recording the call."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, Any, str | None]] = []

    def request(self, method: str, path: str, *, json: Any = None, idempotency_key: str | None = None) -> Any:
        self.calls.append((method, path, json, idempotency_key))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Replayed(dict):
    replayed = True

    @property
    def data(self) -> dict[str, Any]:
        return dict(self)


LIVE_KEY = live(project("p1", "web"), key("k9", "p1", "ci"))


def lost_key_create(journal: ApplyJournal) -> None:
    journal.before_call(KEY, CREATE_KEY, "k-lost")


def router(tmp_path: Path) -> tuple[SecretRouter, FileSink]:
    sink = FileSink(tmp_path / "secrets.json")
    return SecretRouter([sink], tmp_path / "recovery.json"), sink


def test_a_lost_secret_is_recovered_by_replaying_the_call_with_its_key(journal, tmp_path: Path) -> None:
    lost_key_create(journal)
    api = Api(Replayed(key_id="k9", key_secret=KEY_SECRET))
    routes, sink = router(tmp_path)
    result = recover(journal, api, routes, read_live=lambda client: LIVE_KEY)
    assert api.calls == [("POST", CREATE_KEY.path, dict(CREATE_KEY.body), "k-lost")]
    assert result.ok and result.recovered == ["projects.web.keys.ci"]
    assert "the API replayed the original response" in result.notes[0]
    sink.close()
    assert sink.has("projects.web.keys.ci", "key_secret")
    assert journal.unfinished() == []


@pytest.mark.parametrize("live_state, on_file, note", [
    (live(project("p1", "web")), False, "not live: the call did not take effect"),
    (LIVE_KEY, True, "secret already on file"),
])
def test_nothing_is_replayed_when_there_is_nothing_to_recover(journal, tmp_path: Path, live_state, on_file,
                                                              note) -> None:
    lost_key_create(journal)
    routes, sink = router(tmp_path)
    if on_file:
        sink.put(Secret("projects.web.keys.ci", "api_key", "key_secret", KEY_SECRET, project="web", id="k9"))
    api = Api(AssertionError("must not be called"))
    result = recover(journal, api, routes, read_live=lambda client: live_state)
    assert api.calls == [] and result.ok
    assert lines(journal)[-1]["note"] == note


def test_a_request_the_api_forgot_and_refuses_is_lost_and_says_how_to_fix_it(journal, tmp_path: Path) -> None:
    lost_key_create(journal)
    api = Api(ApiStatusError(409, "conflict", "name taken", "POST", CREATE_KEY.path))
    result = recover(journal, api, router(tmp_path)[0], read_live=lambda client: LIVE_KEY)
    assert result.lost == ["projects.web.keys.ci"] and not result.ok
    assert "cannot be recovered" in result.notes[0]
    assert "reconcile apply ... --replace projects.web.keys.ci" in result.notes[0]
    assert [r["idempotency_key"] for r in journal.unfinished()] == ["k-lost"]  # said again next time
    result.settle(journal, {"projects.web.keys.ci"})
    assert result.ok and journal.unfinished() == []


def test_a_server_error_keeps_the_record_for_the_next_apply(journal, tmp_path: Path) -> None:
    lost_key_create(journal)
    api = Api(ApiStatusError(503, "unavailable", "try later", "POST", CREATE_KEY.path))
    with pytest.raises(JournalError, match="nothing was changed. Run apply again when the API answers"):
        recover(journal, api, router(tmp_path)[0], read_live=lambda client: LIVE_KEY)
    assert [r["idempotency_key"] for r in journal.unfinished()] == ["k-lost"]


def test_an_older_secret_call_superseded_by_a_later_one_is_not_replayed(journal, tmp_path: Path) -> None:
    journal.before_call(KEY, CREATE_KEY, "k-old")
    journal.before_call(KEY, ApiCall("POST", "/v1/account/keys/rotate/k9", None), "k-new")
    api = Api(Replayed(key_id="k9", key_secret=KEY_SECRET))
    recover(journal, api, router(tmp_path)[0], read_live=lambda client: LIVE_KEY)
    assert [c[3] for c in api.calls] == ["k-new"]
    assert any(r.get("note") == "superseded by a later call" and r["idempotency_key"] == "k-old"
               for r in lines(journal))


def test_recovery_reads_nothing_live_when_the_journal_is_clean(journal, tmp_path: Path) -> None:
    def read_live(client: Any) -> Any:
        raise AssertionError("read_live must not be called")

    assert recover(journal, Api(None), router(tmp_path)[0], read_live=read_live).notes == []
