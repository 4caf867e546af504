"""Checks (docs/checks.md) through the real CLI, over HTTP, against the emulator served on a
loopback port: a routing change previewed with routing.test, a webhook receiver answering
500 reported by the reachable check and by the next plan, a declined test charge, and the
`--fail-on` exit codes of failing checks."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from e2e_support import live_server
from reconcile.emulator import delivery
from reconcile.emulator.app import create_app

ROUTING = """\
version: 1
routing:
  chain_override: [anthropic, openai]
checks:
  routing:
    - capability: ai.chat
      expect_vendor: anthropic
      severity: fail
    - capability: ai.embed
      expect_chain: [openai, cohere, mistral]
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The emulator with real webhook delivery, allowed only to 127.0.0.1: (url, CLI env)."""
    app = create_app(str(tmp_path / "served.db"), webhook_delivery=True, allow_webhook_hosts=["127.0.0.1"])
    with live_server(app) as url:
        yield url, {"INFRAI_API_KEY": app.state.emulator.bootstrap_secret, "INFRAI_BASE_URL": url,
                    "INFRAI_RETRIES": "0"}


class _Answer500(http.server.BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.received.append(self.headers.get("webhook-id") or "")
        self.send_response(500)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def failing_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS receiver on 127.0.0.1 that answers every delivery 500 (webhook URLs must be
    https): a self-signed certificate the emulator's delivery client is made to trust."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the receiver's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    trust = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(delivery.httpx, "AsyncClient", functools.partial(httpx.AsyncClient, verify=trust))
    received: list[str] = []
    monkeypatch.setattr(_Answer500, "received", received)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/hooks/infrai", received
    finally:
        server.shutdown()
        server.server_close()


def _checks(stdout: str) -> list[dict[str, Any]]:
    doc = json.loads(stdout)
    return list(doc["checks"])


def test_a_routing_change_is_previewed_with_the_vendor_it_will_select(served, run_cli, workdir, tmp_path):
    url, env = served
    # ai.image is in use this period: the change touches it, so the plan previews it too.
    httpx.post(f"{url}/_emulator/usage", json={"capability": "ai.image", "requests": 3, "spend_usd": 0}).raise_for_status()
    (workdir / "c.yaml").write_text(ROUTING)
    text = run_cli("plan", str(workdir), "--no-color", env=env)
    assert text.exit_code == 0, text.output
    assert "PASS    [fail] routing: ai.chat would select vendor anthropic (was openai)" in text.stdout
    assert ("FAIL    [warn] routing: ai.embed would select vendor anthropic (was openai); "
            "resolved chain anthropic, openai, expected openai, cohere, mistral") in text.stdout
    assert "INFO    [warn] routing: ai.image would select vendor anthropic (was openai)" in text.stdout

    summary = tmp_path / "summary.md"
    markdown = run_cli("plan", str(workdir), "--format", "markdown",
                       env={**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    row = "| ✅ pass | fail | `routing` | ai.chat would select vendor anthropic (was openai) |"
    assert row in markdown.stdout and row in summary.read_text()

    checks = _checks(run_cli("plan", str(workdir), "--format", "json", env=env).stdout)
    chat = next(c for c in checks if c["details"]["capability"] == "ai.chat")
    assert chat["details"]["resolved_chain"] == ["anthropic", "openai"]
    assert chat["details"]["was"] == {"selected_vendor": "openai", "resolved_chain": ["openai", "anthropic", "google"]}

    # Nothing was changed by the preview; after apply the check asserts the live result.
    applied = run_cli("apply", str(workdir), "--auto-approve", "--no-color", env=env)
    assert applied.exit_code == 0, applied.output
    assert "PASS    [fail] routing: ai.chat selects vendor anthropic" in applied.stdout
    drift = run_cli("plan", str(workdir), "--no-color", env=env)
    assert "PASS    [fail] routing: ai.chat selects vendor anthropic" in drift.stdout
    assert "would select" not in drift.stdout


def test_fail_on_covers_failing_checks_by_severity(served, run_cli, workdir):
    url, env = served
    (workdir / "c.yaml").write_text(ROUTING.replace("expect_vendor: anthropic", "expect_vendor: google"))
    # ai.chat (severity fail) and ai.embed (warn) both fail.
    assert run_cli("plan", str(workdir), env=env).exit_code == 0  # reported, not gated, without --fail-on
    warning = run_cli("plan", str(workdir), "--fail-on", "warning", env=env)
    assert warning.exit_code == 4 and "2 failing checks at or above --fail-on warning" in warning.stderr
    danger = run_cli("plan", str(workdir), "--fail-on", "danger", env=env)
    assert danger.exit_code == 4 and "1 failing check at or above --fail-on danger" in danger.stderr
    assert "[fail] routing: ai.chat would select vendor anthropic (was openai); expected vendor google" in danger.stderr
    # apply stops before any change: routing is still the default.
    stopped = run_cli("apply", str(workdir), "--auto-approve", "--fail-on", "danger", env=env)
    assert stopped.exit_code == 4 and "nothing was applied" in stopped.stderr
    routing = httpx.get(f"{url}/v1/account/routing/get", headers={"Authorization": f"Bearer {env['INFRAI_API_KEY']}"})
    assert routing.json()["chain_override"] is None
    # Only warn checks failing: danger passes.
    (workdir / "c.yaml").write_text(ROUTING)
    assert run_cli("plan", str(workdir), "--fail-on", "danger", env=env).exit_code == 0
    assert run_cli("plan", str(workdir), "--fail-on", "warning", env=env).exit_code == 4


def test_a_failing_webhook_receiver_is_reported(served, failing_receiver, run_cli, workdir):
    url, env = served
    hook, received = failing_receiver
    (workdir / "c.yaml").write_text(f"version: 1\nwebhooks:\n  - url: {hook}\n    events: [budget.alert]\n"
                                    "    reachable: true\n")
    plan = run_cli("plan", str(workdir), "--no-color", env=env)
    assert f'PENDING [warn] webhooks["{hook}"]: after apply: webhooks.test sends' in plan.stdout
    applied = run_cli("apply", str(workdir), "--auto-approve", "--no-color", "--fail-on", "warning", env=env)
    # Applied, then the check failed: exit 4, and the webhook exists.
    assert applied.exit_code == 4, applied.output
    assert "create done" in applied.stdout
    assert f'FAIL    [warn] webhooks["{hook}"]: test event not delivered: endpoint answered HTTP 500' in applied.stdout
    assert "1 failing check at or above --fail-on warning; the changes were applied" in applied.stderr
    assert len(received) == 1  # one real POST reached the receiver

    # The drift run reads the deliveries: failure rate and last success.
    drift = run_cli("plan", str(workdir), "--format", "json", env=env)
    health = next(c for c in _checks(drift.stdout) if c["check"] == "webhook deliveries")
    assert health["status"] == "fail"
    assert health["details"] == {"deliveries": 1, "failed": 1, "failure_rate": 1.0, "last_success": None,
                                 "last_error": "endpoint answered HTTP 500"}
    assert run_cli("plan", str(workdir), "--fail-on", "warning", env=env).exit_code == 4
    assert run_cli("plan", str(workdir), "--fail-on", "danger", env=env).exit_code == 0  # a warn check


def test_a_declined_test_charge_is_reported(served, run_cli, workdir):
    url, env = served
    method = httpx.post(f"{url}/_emulator/payment_methods", json={"failing": True}).json()
    (workdir / "c.yaml").write_text(
        "version: 1\nautorecharge:\n  enabled: true\n  trigger_balance: 10\n  recharge_amount: 25\n"
        "  payment_method_id: ${var:pm}\nchecks:\n  autorecharge:\n    test_charge: true\n")
    plan = run_cli("plan", str(workdir), "--var", f"pm={method['id']}", "--no-color", env=env)
    assert "PENDING [fail] autorecharge: after apply: a real $1 test authorisation" in plan.stdout
    applied = run_cli("apply", str(workdir), "--var", f"pm={method['id']}", "--auto-approve", "--format", "json",
                      "--fail-on", "danger", env=env)
    assert applied.exit_code == 4, applied.output
    charge = _checks(applied.stdout)[0]
    assert (charge["check"], charge["status"], charge["details"]["failure_reason"]) == (
        "autorecharge test charge", "fail", "card_declined")
    assert f"the $1 test authorisation on {method['id']} failed: card_declined" in charge["message"]
    # Nothing changes afterwards: no autorecharge change, no second charge.
    again = run_cli("apply", str(workdir), "--var", f"pm={method['id']}", "--auto-approve", "--format", "json", env=env)
    assert again.exit_code == 0 and "test charge" not in again.stdout


def test_a_saved_plan_keeps_its_checks_for_after_apply(served, run_cli, workdir, tmp_path):
    url, env = served
    (workdir / "c.yaml").write_text(ROUTING.replace("expect_vendor: anthropic", "expect_vendor: google"))
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(workdir), "--out", str(saved), env=env).exit_code == 0
    (workdir / "c.yaml").unlink()  # the saved plan alone says what to check
    # (With --fail-on the saved failing preview would stop it first: the test below.)
    applied = run_cli("apply", str(saved), "--auto-approve", "--no-color", env=env)
    assert applied.exit_code == 0, applied.output
    assert "FAIL    [fail] routing: ai.chat selects vendor anthropic; expected vendor google" in applied.stdout


def test_apply_of_a_saved_plan_gates_on_the_checks_it_showed(served, run_cli, workdir, tmp_path):
    """The reviewed plan's failing preview stops `apply PLANFILE --fail-on` before any change,
    as it stopped `plan --fail-on`: the gate judges what the reviewer saw."""
    url, env = served
    (workdir / "c.yaml").write_text(ROUTING.replace("expect_vendor: anthropic", "expect_vendor: google"))
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(workdir), "--out", str(saved), env=env).exit_code == 0
    assert any(c["status"] == "fail" for c in json.loads(saved.read_text())["checks"])
    stopped = run_cli("apply", str(saved), "--auto-approve", "--fail-on", "danger", env=env)
    assert stopped.exit_code == 4, stopped.output
    assert "1 failing check at or above --fail-on danger; nothing was applied" in stopped.stderr
    routing = httpx.get(f"{url}/v1/account/routing/get", headers={"Authorization": f"Bearer {env['INFRAI_API_KEY']}"})
    assert routing.json()["chain_override"] is None
    # Without the gate, the reviewed plan applies.
    assert run_cli("apply", str(saved), "--auto-approve", env=env).exit_code == 0
    routing = httpx.get(f"{url}/v1/account/routing/get", headers={"Authorization": f"Bearer {env['INFRAI_API_KEY']}"})
    assert routing.json()["chain_override"] == ["anthropic", "openai"]
