"""Every documented exit code, through the installed `reconcile` entry point run as a
subprocess against the emulator served over HTTP on a loopback port (README "Exit codes",
docs/cli-reference.md): 0 success, 1 any error (usage errors included: never click's 2),
2 only `plan --detailed-exitcode` with changes, 3 a policy rule, 4 an impact at or above
`--fail-on`, 5 a `status` finding at or above `status --fail-on`, 130 interrupted.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_support import Run, account, cli_env, finish, wait_for_progress  # noqa: F401

RECONCILE = Path(sys.executable).parent / "reconcile"  # the console script pip installed
CONFIG = ("version: 1\nprojects:\n  - name: web\n    keys:\n      - name: ci\n"
          "  - name: api\nwebhooks:\n  - url: https://hooks.example.com/in\n    events: [key.created]\n")


@pytest.fixture
def served(http_emulator, tmp_path, secret_scan):
    url, key, emu = http_emulator
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text(CONFIG)
    return url, key, emu


def start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    assert RECONCILE.exists(), f"the console script is not installed: {RECONCILE}"
    return subprocess.Popen([str(RECONCILE), *args], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def run(served, tmp_path, secret_scan, *args: str, **env: str) -> Run:
    url, key, _ = served
    return finish(start(*args, env=cli_env(url, key, **env), cwd=tmp_path), args, secret_scan)


def no_traceback(result: Run) -> None:
    assert "Traceback" not in result.output, result.output


def test_0_no_changes_and_applied(served, tmp_path, secret_scan):
    applied = run(served, tmp_path, secret_scan, "apply", "infrai.yaml", "--auto-approve", "--secrets-out", "s.json")
    assert applied.returncode == 0, applied.output
    assert "Apply complete" in applied.stdout
    again = run(served, tmp_path, secret_scan, "plan", "infrai.yaml", "--detailed-exitcode")
    assert again.returncode == 0, again.output
    assert "No changes" in again.stdout
    assert run(served, tmp_path, secret_scan, "validate", "infrai.yaml").returncode == 0


USAGE_ERRORS = {
    "unknown option": (["plan", "infrai.yaml", "--nope"], "No such option '--nope'"),
    "typo in a flag": (["plan", "infrai.yaml", "--detailed-exitcod"], "Did you mean --detailed-exitcode?"),
    "typo in a command": (["plna", "infrai.yaml"], "No such command 'plna'. Did you mean 'plan'?"),
    "typo in a subcommand": (["keys", "compromize", "projects.web.keys.ci"], "No such command 'compromize'"),
    "bad option value": (["plan", "infrai.yaml", "--parallelism", "0"], "Invalid value for '--parallelism'"),
    "bad choice": (["plan", "infrai.yaml", "--format", "yaml"], "Invalid value for '--format'"),
    "missing path": (["plan", "missing.yaml"], "Path 'missing.yaml' does not exist"),
    "no path at all": (["validate"], "Missing argument 'PATHS...'"),
    "option without its value": (["apply", "infrai.yaml", "--secrets-out"], "Option '--secrets-out' requires an argument"),
    "bad value from the environment": (["plan", "infrai.yaml"], "Invalid value for '--fail-on'"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_1_usage_errors_never_2(case, served, tmp_path, secret_scan):
    args, message = USAGE_ERRORS[case]
    env = {"INFRAI_FAIL_ON": "bogus"} if case == "bad value from the environment" else {}
    result = run(served, tmp_path, secret_scan, *args, **env)
    assert result.returncode == 1, (case, result.returncode, result.output)
    assert message.replace("'", "") in result.stderr.replace("'", "").replace('"', ""), result.stderr
    assert "Error: " in result.stderr and result.stdout == ""
    no_traceback(result)


def test_1_invalid_config(served, tmp_path, secret_scan):
    (tmp_path / "bad.yaml").write_text("version: 1\nprojects:\n  - name: web\n    colour: blue\n")
    for command in ("validate", "plan", "apply"):
        extra = ["--auto-approve"] if command == "apply" else []
        result = run(served, tmp_path, secret_scan, command, "bad.yaml", *extra)
        assert result.returncode == 1, (command, result.output)
        assert "bad.yaml:4:5" in result.stderr, result.stderr
        no_traceback(result)


def test_1_dead_endpoint(served, tmp_path, secret_scan):
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(served, tmp_path, secret_scan, "plan", "infrai.yaml", "--retries", "0",
                 INFRAI_BASE_URL=f"http://127.0.0.1:{port}")
    assert result.returncode == 1, result.output
    assert result.stderr.startswith("Error: ") and f"127.0.0.1:{port}" in result.stderr, result.stderr
    no_traceback(result)


def test_2_only_for_changes_under_detailed_exitcode(served, tmp_path, secret_scan):
    changes = run(served, tmp_path, secret_scan, "plan", "infrai.yaml", "--detailed-exitcode")
    assert changes.returncode == 2, changes.output
    assert "to create" in changes.stdout
    assert run(served, tmp_path, secret_scan, "plan", "infrai.yaml").returncode == 0


def test_3_policy_stops_plan_and_apply(served, tmp_path, secret_scan, account):
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  max_changes: 2\n")
    plan = run(served, tmp_path, secret_scan, "plan", "infrai.yaml", "--policy", "policy.yaml")
    assert plan.returncode == 3, plan.output
    assert "[max_changes]" in plan.stderr
    applied = run(served, tmp_path, secret_scan, "apply", "infrai.yaml", "--policy", "policy.yaml", "--auto-approve")
    assert applied.returncode == 3, applied.output
    assert {p["name"] for p in account.items("/v1/account/projects/list")} == {"default"}  # nothing applied


def test_4_fail_on_stops_plan_and_apply(served, tmp_path, secret_scan):
    _, _, emu = served
    top = emu.post("/v1/account/topup", {"amount_usd": 100})
    emu.post(f"/_emulator/checkout/{top['topup_id']}/complete")
    emu.post("/_emulator/usage", {"capability": "chat.completions", "requests": 10, "spend_usd": 40})
    (tmp_path / "cap.yaml").write_text("version: 1\nbudget: {period: monthly, hard_cap_usd: 30}\n")
    plan = run(served, tmp_path, secret_scan, "plan", "cap.yaml", "--fail-on", "danger")
    assert plan.returncode == 4, plan.output
    applied = run(served, tmp_path, secret_scan, "apply", "cap.yaml", "--fail-on", "warning", "--auto-approve")
    assert applied.returncode == 4, applied.output
    assert emu.api.get("/v1/account/budget/get")["hard_cap_usd"] is None  # nothing applied


def test_4_status_fail_on(served, tmp_path, secret_scan):
    _, _, emu = served
    assert run(served, tmp_path, secret_scan, "status", "--min-balance", "1", "--fail-on", "warning").returncode == 0
    emu.post("/_emulator/subscription", {"status": "past_due"})
    unhealthy = run(served, tmp_path, secret_scan, "status", "--min-balance", "1", "--fail-on", "danger")
    assert unhealthy.returncode == 4, unhealthy.output
    assert "past_due" in unhealthy.stdout and "at or above --fail-on danger" in unhealthy.stderr
    no_traceback(unhealthy)


def test_130_sigint_during_apply(served, tmp_path, secret_scan, account):
    url, key, _ = served
    (tmp_path / "many.yaml").write_text("version: 1\nprojects:\n" + "".join(f"  - name: p{i}\n" for i in range(12)))
    account.faults(latency_ms=250)  # steps are in flight when the signal arrives
    args = ("apply", "many.yaml", "--auto-approve", "--parallelism", "2")
    proc = start(*args, env=cli_env(url, key), cwd=tmp_path)
    wait_for_progress(proc)
    proc.send_signal(signal.SIGINT)
    result = finish(proc, args, secret_scan)
    account.faults()
    assert result.returncode == 130, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"Interrupted: (\d+) of 12 step\(s\) done, (\d+) not started; the steps in flight "
                        r"finished, nothing is half done\. Run apply again to continue\.", last), last
    no_traceback(result)
    done = int(re.match(r"Interrupted: (\d+)", last).group(1))
    assert len(account.items("/v1/account/projects/list")) == 1 + done  # what it says is done is live


def test_exit_codes_are_documented():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    reference = (Path(__file__).parents[2] / "docs" / "cli-reference.md").read_text()
    for code in ("**0**", "**1**", "**2**", "**3**", "**4**", "**130**"):
        assert code in readme and code in reference, code
