"""`reconcile.workflow.run.apply` against an in-process emulator: a failed apply raises
ApplyError carrying its result, a cancelled one ApplyInterrupted; no signal handler is
installed by the library; a request without a way to confirm is a usage error."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from reconcile import api
from reconcile.client.asgi import SyncASGITransport
from reconcile.emulator.app import create_app

CONFIG = """\
version: 1
projects:
  - name: web
    keys:
      - name: ci
        scopes: [account:read]
  - name: docs
"""


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    app = create_app(str(tmp_path / "emulator.db"))
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://emulator") as http, \
            api.connect("http://emulator", app.state.emulator.bootstrap_secret, api.RunOptions(parallelism=1),
                        http=http) as client:
        yield client


@pytest.fixture
def desired(tmp_path: Path) -> api.DesiredState:
    (tmp_path / "infrai.yaml").write_text(CONFIG)
    return api.load([tmp_path / "infrai.yaml"])


class BrokenVault:
    def put(self, secret: api.Secret) -> None:
        raise OSError("vault unreachable")

    def __str__(self) -> str:
        return "a broken vault"


def _request(desired: api.DesiredState, **kw: Any) -> api.ApplyRequest:
    return api.ApplyRequest(desired, options=api.RunOptions(parallelism=1), journal_path="journal.jsonl", **kw)


def test_a_failed_step_raises_apply_error_with_the_result(client, desired):
    with pytest.raises(api.ApplyError) as caught:
        api.apply(client, _request(desired, auto_approve=True), secrets=[BrokenVault()])
    result = caught.value.result
    assert isinstance(result, api.ApplyResult) and not result.ok and not result.interrupted
    assert caught.value.report is result.report and caught.value.exit_code == 1
    status = {r.change.address: r.status for r in result.report.results}
    assert status["projects.web.keys.ci"] is api.StepStatus.FAILED
    assert "1 failed" in str(caught.value), caught.value
    # The secret was kept where the request said (mode 0600), not lost.
    assert Path(".infrai-secrets.json").stat().st_mode & 0o777 == 0o600


def test_a_cancelled_apply_raises_apply_interrupted_and_starts_nothing(client, desired):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(api.ApplyInterrupted) as caught:
        api.apply(client, _request(desired, auto_approve=True), cancel=cancel)
    assert caught.value.exit_code == 130
    counts = caught.value.result.report.counts()
    assert counts["not_started"] == 3 and counts["succeeded"] == 0


def test_the_library_installs_no_signal_handler(client, desired):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    during: list[Any] = []

    def watch(event: api.WorkflowEvent) -> None:
        if isinstance(event, api.ApplyEvent):
            during.append((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))

    result = api.apply(client, _request(desired, auto_approve=True), on_event=watch, secrets=[])
    assert result.ok and during and set(during) == {before}


def test_without_auto_approve_or_confirm_it_is_a_usage_error_before_any_change(client, desired):
    with pytest.raises(api.UsageError, match="auto_approve=True or a confirm callback"):
        api.apply(client, _request(desired))
    assert api.plan(client, api.PlanRequest(desired)).plan.counts()["create"] == 3


def test_events_come_in_order(client, desired):
    kinds: list[str] = []
    api.apply(client, _request(desired, auto_approve=True), secrets=[],
              on_event=lambda e: kinds.append(type(e).__name__))
    assert kinds[0] == "PlanReady" and kinds[1] == "StepsStarting" and kinds[-1] == "StepsFinished"
    assert set(kinds[2:-1]) == {"ApplyEvent"} and len(kinds[2:-1]) == 6  # running + succeeded, 3 steps
