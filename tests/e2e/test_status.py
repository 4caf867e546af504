"""`reconcile status` and `reconcile webhooks retry|replay` over real HTTP (uvicorn on a free
loopback port), through the real CLI. The emulator's control routes drive the world: the
usage ledger (spend, requests, bandwidth), the clock, a failing payment method, a past_due
subscription and a webhook receiver that answers 500. Each threshold is shown by the exit
code of `status --fail-on` and by the finding's rule in the JSON report."""

from __future__ import annotations

import json
import re
import shlex
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import jsonschema
import pytest
import yaml

from e2e_support import EXAMPLES, REPO, Emulator, live_server

GIB = 1 << 30
CONFIG = """
budget: {period: monthly, hard_cap_usd: 100, alert_threshold_usd: 50}
projects:
  - name: web
    keys:
      - {name: ci, rotate_after: 2d, grace_hours: 24}
      - {name: free}
webhooks:
  - {url: "https://hooks.example.com/a", events: [budget.alert, webhook.test]}
bandwidth_alerts:
  - threshold: 5GiB
"""
SCHEMA = json.loads((REPO / "schemas" / "status.schema.json").read_text())
HOOK = 'webhooks["https://hooks.example.com/a"]'
START = "2026-06-10T12:00:00Z"  # day 10 of a 30-day month: the forecast is the spend × 3


@dataclass
class Account:
    emulator: Emulator
    env: dict[str, str]
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def usage(self, spend: float, requests: int = 1, **extra: Any) -> Any:
        return self.emulator.post("/_emulator/usage", {"capability": "ai.chat", "spend_usd": spend,
                                                       "requests": requests, **extra})

    def clock(self, **body: Any) -> Any:
        return self.emulator.post("/_emulator/clock", body)

    def webhook_id(self) -> str:
        return str(self.emulator.items("/v1/account/webhooks/list")[0]["id"])

    def writes(self) -> list[tuple[str, str, dict[str, str]]]:
        return [c for c in self.calls if c[0] != "GET"]


def recording(app: Any, calls: list[tuple[str, str, dict[str, str]]]) -> Any:
    async def recorded(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            calls.append((scope["method"], scope["path"], headers))
        await app(scope, receive, send)

    return recorded


@pytest.fixture
def account(tmp_path, run_cli) -> Iterator[Account]:
    emu = Emulator(tmp_path / "status.db")
    calls: list[tuple[str, str, dict[str, str]]] = []
    with ExitStack() as stack:
        url = stack.enter_context(live_server(recording(emu.app, calls)))
        acct = Account(emu, {"INFRAI_API_KEY": emu.key, "INFRAI_BASE_URL": url}, calls)
        acct.clock(now=START)
        (tmp_path / "infrai.yaml").write_text(CONFIG)
        applied = run_cli("apply", "infrai.yaml", "--auto-approve", env=acct.env)
        assert applied.exit_code == 0, applied.output
        topup = emu.post("/v1/account/topup", {"amount_usd": 500})
        emu.post(f"/_emulator/checkout/{topup['topup_id']}/complete")
        calls.clear()
        yield acct
    emu.close()


def status(run_cli: Callable[..., Any], acct: Account, *args: str) -> tuple[int, dict[str, Any]]:
    """`status --format json` and its exit code; the report always printed, whatever the gate says."""
    result = run_cli("status", "infrai.yaml", "--format", "json", *args, env=acct.env)
    assert result.exit_code in (0, 4), result.output
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)  # every report of these tests, healthy or not, in its documented shape
    return result.exit_code, report


def rules(report: dict[str, Any], section: str | None = None) -> dict[str, str]:
    return {f["rule"]: f["severity"] for s, body in report["sections"].items() if section in (None, s)
            for f in body["findings"]}


def test_a_healthy_account_passes_every_gate_and_status_only_reads(account, run_cli):
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 0 and report["worst"] in (None, "info"), report
    assert {m for m, _, _ in account.calls} == {"GET"}  # read-only: nothing is written to the account
    spend = report["sections"]["spend"]["figures"]
    assert spend["balance_usd"] == 502 and spend["budget"]["hard_cap_usd"] == 100
    assert report["sections"]["headroom"]["figures"]["limits"]["projects"] == {"used": 2, "limit": 5}
    text = run_cli("status", "infrai.yaml", env=account.env)
    assert text.exit_code == 0 and "Account status:" in text.stdout and "Webhooks" in text.stdout


def test_spend_past_the_alert_warns_and_at_the_hard_cap_is_danger(account, run_cli):
    account.usage(10)  # day 10: forecast $30, below the alert
    assert status(run_cli, account, "--fail-on", "warning")[0] == 0
    account.usage(45)  # $55 spent: the alert has fired; forecast $165 reaches the cap
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 4
    assert rules(report, "spend") == {"budget.alert_passed": "warning", "budget.hard_cap_forecast": "warning"}
    assert status(run_cli, account, "--fail-on", "danger")[0] == 0
    account.usage(45)  # $100: the cap itself
    code, report = status(run_cli, account, "--fail-on", "danger")
    assert code == 4 and rules(report, "spend")["budget.hard_cap_reached"] == "danger"
    gated = run_cli("status", "infrai.yaml", "--fail-on", "danger", env=account.env)
    assert gated.exit_code == 4 and "at or above --fail-on danger" in gated.stderr
    assert "hard cap $100.00" in gated.stdout  # the report first, then the gate


def test_forecast_alone_reaching_the_alert_is_info(account, run_cli):
    account.usage(20)  # forecast $60: past the $50 alert, below the cap
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 0 and rules(report, "spend") == {"budget.alert_forecast": "info"}


def test_headroom_rpm_peak_and_bandwidth(account, run_cli):
    account.usage(0, requests=3000)  # one hour at an average of 50 rpm: 83% of the standard tier's 60
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 4 and rules(report, "headroom") == {"tier.rpm_near": "warning"}
    account.usage(0, requests=600, bandwidth_bytes=6 * GIB)  # 60 rpm: at the limit; 6 of 10 GiB
    code, report = status(run_cli, account, "--fail-on", "danger")
    found = rules(report, "headroom")
    assert code == 4 and found["tier.rpm_near"] == "danger"
    # 6 GiB on day 10 of 30: 18 GiB by the period's end, over the quota; the 5 GiB alert fired.
    assert found["bandwidth.quota_forecast"] == "warning" and found["bandwidth_alert.fired"] == "info"
    bandwidth = report["sections"]["headroom"]["figures"]["bandwidth"]
    assert bandwidth["used_bytes"] == 6 * GIB and bandwidth["alerts"][0]["state"] == "fired"


def test_past_due_subscription_is_danger_with_what_to_do_and_nothing_is_paid(account, run_cli):
    account.emulator.post("/_emulator/subscription", {"status": "past_due"})
    account.calls.clear()
    result = run_cli("status", "infrai.yaml", "--fail-on", "danger", env=account.env)
    assert result.exit_code == 4
    assert "subscription is past_due" in result.stdout and "retry_payment" in result.stdout
    assert account.writes() == []  # status never pays: no POST, above all not retry_payment


def test_auto_recharge_payment_failures_warn(account, run_cli):
    method = account.emulator.post("/_emulator/payment_methods", {"failing": True})
    account.emulator.api.request("PUT", "/v1/account/autorecharge/configure",
                                 json={"enabled": True, "trigger_balance": 1000, "recharge_amount": 20,
                                       "payment_method_id": method["id"]})
    account.usage(1)  # below the trigger: auto-recharge tries the failing card
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 4 and rules(report, "spend") == {"autorecharge.payment_failed": "warning"}
    assert report["sections"]["spend"]["figures"]["payment_failures"] == 1


def test_keys_due_overdue_and_past_grace(account, run_cli):
    account.clock(advance_seconds=86400)  # rotate_after 2d: due tomorrow
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 0 and rules(report, "keys") == {"key.rotation_due": "info"}
    account.clock(advance_seconds=1.5 * 86400)  # half a day overdue, within the 24 h grace
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 4 and rules(report, "keys") == {"key.rotation_overdue": "warning"}
    account.clock(advance_seconds=86400)  # a day and a half overdue
    code, report = status(run_cli, account, "--fail-on", "danger")
    assert code == 4 and rules(report, "keys") == {"key.rotation_past_grace": "danger"}
    keys = report["sections"]["keys"]["figures"]
    assert keys["overdue"] == ["projects.web.keys.ci"] and keys["with_rotate_after"] == 1
    # Without the config, status knows no rotation policy and says nothing about it.
    bare = run_cli("status", "--format", "json", env=account.env)
    assert bare.exit_code == 0 and "key.rotation_past_grace" not in bare.stdout
    # apply rotates it (the remedy); the old secret keeps working for its 24 h of grace.
    assert run_cli("apply", "infrai.yaml", "--auto-approve", env=account.env).exit_code == 0
    code, report = status(run_cli, account, "--fail-on", "warning")
    assert code == 0 and rules(report, "keys") == {"key.in_grace": "info", "key.rotation_due": "info"}  # in 2 days
    assert report["sections"]["keys"]["figures"]["in_grace"] == ["projects.web.keys.ci"]


def test_a_failing_webhook_receiver_is_reported_then_retried_and_replayed(account, run_cli):
    hook_id = account.webhook_id()
    account.emulator.post(f"/_emulator/webhooks/{hook_id}/receiver", {"status_code": 500})
    for _ in range(2):
        account.emulator.post(f"/v1/account/webhooks/test/{hook_id}")
    code, report = status(run_cli, account, "--fail-on", "danger")
    assert code == 4
    [finding] = report["sections"]["webhooks"]["findings"]
    assert finding["severity"] == "danger" and finding["subject"] == HOOK
    assert "0 of 2 deliveries" in finding["message"] and "receiver answered 500" in finding["message"]
    assert f"reconcile webhooks retry '{HOOK}'" in finding["remedy"]
    [row] = report["sections"]["webhooks"]["figures"]
    assert row["success_rate"] == 0 and row["last_success"] is None and len(row["failed_ids"]) == 2

    # No confirmation, no send: CI refuses to prompt.
    account.calls.clear()
    refused = run_cli("webhooks", "retry", HOOK, env={**account.env, "CI": "true"})
    assert refused.exit_code == 1 and "--auto-approve" in refused.stderr and account.writes() == []

    # Still failing: the retry is sent, and says so with exit 1.
    again = run_cli("webhooks", "retry", HOOK, "--auto-approve", env=account.env)
    assert again.exit_code == 1 and "failed again" in again.stdout

    account.emulator.post(f"/_emulator/webhooks/{hook_id}/receiver", {"status_code": 200})
    account.calls.clear()
    first = row["failed_ids"][0]
    retried = run_cli("webhooks", "retry", HOOK, "--delivery", first, "--yes", env=account.env)
    assert retried.exit_code == 0 and "(HTTP 200, ok)" in retried.stdout, retried.output
    [(method, path, headers)] = account.writes()
    assert (method, path) == ("POST", f"/v1/account/webhooks/retry/{hook_id}")
    assert headers["idempotency-key"].startswith(f"rcl-webhook-retry-{hook_id}-{first}-")

    account.calls.clear()
    replayed = run_cli("webhooks", "replay", 'https://hooks.example.com/a', "--delivery", first, "--yes",
                       env=account.env)
    assert replayed.exit_code == 0, replayed.output
    [(method, path, headers)] = account.writes()
    assert path == f"/v1/account/webhooks/replay/{hook_id}"
    assert headers["idempotency-key"].startswith(f"rcl-webhook-replay-{hook_id}-{first}-")
    deliveries = account.emulator.items(f"/v1/account/webhooks/deliveries/{hook_id}")
    assert [d["replay_of"] for d in deliveries][-1] == first
    assert [d["attempt"] for d in deliveries if d["ok"]][0] == 2  # the retry: the same message, attempt 2

    # 2 of 5 now succeed, the latest among them: below the 95% rate, so a warning, no longer danger.
    code, report = status(run_cli, account, "--fail-on", "danger")
    [finding] = report["sections"]["webhooks"]["findings"]
    assert code == 0 and finding["severity"] == "warning" and "2 of 5 deliveries" in finding["message"]


def test_each_retry_carries_its_own_idempotency_key(account, run_cli):
    hook_id = account.webhook_id()
    account.emulator.post(f"/_emulator/webhooks/{hook_id}/receiver", {"status_code": 503})
    ids = [account.emulator.post(f"/v1/account/webhooks/test/{hook_id}")["delivery_id"] for _ in range(2)]
    account.emulator.post(f"/_emulator/webhooks/{hook_id}/receiver", {"status_code": 200})
    account.calls.clear()
    result = run_cli("webhooks", "retry", HOOK, "--delivery", ids[0], "--delivery", ids[1], "-y", env=account.env)
    assert result.exit_code == 0, result.output
    keys = [h["idempotency-key"] for _, _, h in account.writes()]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(k.split("-")[-1] == keys[0].split("-")[-1] for k in keys)


def test_an_unknown_webhook_is_named_with_the_live_ones(account, run_cli):
    result = run_cli("webhooks", "replay", "https://hooks.example.com/nope", "-y", env=account.env)
    assert result.exit_code == 1 and "no live webhook" in result.stderr and HOOK in result.stderr


def _reconcile_lines(script: str) -> list[list[str]]:
    found = []
    for line in script.splitlines():
        for part in line.split(";"):
            part = part.strip().lstrip("- ").strip()
            if part.startswith("reconcile "):
                found.append(shlex.split(part.split(">")[0].split("||")[0]))
    return found


def test_the_nightly_jobs_run_plan_and_status_together_and_post_one_report(run_cli):
    github = yaml.safe_load((EXAMPLES / "ci" / "drift-nightly.yml").read_text())
    [job] = github["jobs"].values()
    scripts = [str(s.get("run", "")) for s in job["steps"]]
    assert any("reconcile status" in s and "--fail-on" in s for s in scripts)
    issue = [s for s in job["steps"] if "gh issue create" in str(s.get("run", ""))]
    assert len(issue) == 1 and "exitcode == '2'" in issue[0]["if"] and "exitcode == '4'" in issue[0]["if"]
    assert "status.md" in issue[0]["run"] and "$PLAN" in issue[0]["run"]  # one body, both reports
    gitlab = yaml.safe_load((EXAMPLES / "ci" / "gitlab" / "drift-nightly.gitlab-ci.yml").read_text())
    script = "\n".join(gitlab["drift-nightly"]["script"])
    argvs = _reconcile_lines(script) + [argv for s in scripts for argv in _reconcile_lines(s)]
    assert {a[1] for a in argvs} == {"plan", "status"} and "report.md" in script
    for argv in argvs:
        help_ = run_cli(argv[1], "--help")
        for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
            assert re.search(rf"{re.escape(flag)}\b", help_.stdout), f"{flag} not in reconcile {argv[1]} --help"


class InFlight:
    """The most `/v1` requests in flight at once (one event loop serves them: plain ints)."""

    def __init__(self, app: Any):
        self.app, self.now, self.peak = app, 0, 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and scope["path"].startswith("/v1/")
        self.now += counted
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= counted


@pytest.mark.parametrize("parallelism", [1, 3])
def test_status_reads_concurrently_within_parallelism(tmp_path, run_cli, parallelism):
    emu = Emulator(tmp_path / "wide.db")
    counter = InFlight(emu.app)
    hooks = "".join(f'  - {{url: "https://hooks.example.com/{i}", events: [key.created]}}\n' for i in range(4))
    (tmp_path / "wide.yaml").write_text("projects:\n  - name: web\nwebhooks:\n" + hooks)
    with live_server(counter) as url:
        env = {"INFRAI_API_KEY": emu.key, "INFRAI_BASE_URL": url}
        assert run_cli("apply", "wide.yaml", "--auto-approve", env=env).exit_code == 0
        emu.post("/_emulator/faults", {"latency_ms": 60})  # calls that may overlap do
        counter.peak = 0
        result = run_cli("status", "--parallelism", str(parallelism), "--format", "json", env=env)
        emu.post("/_emulator/faults", {})
    emu.close()
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["sections"]["webhooks"]["figures"]) == 4
    # 8 lists, 5 facts, 3 other reads and 4 webhooks' deliveries: the width is used, never passed.
    assert counter.peak == parallelism, counter.peak
