"""Crash safety: an apply SIGKILLed at any point never creates twice and never loses a secret.

The CLI runs as a real subprocess against the emulator served over HTTP by this process (so
the emulator survives the kill and records the secrets it issues). It is started through
tests/e2e/crash_launcher.py, which wraps the journal's calls before the CLI's main runs
and SIGKILLs the CLI deterministically (production code has no hook): `N` when the N-th response arrives, before the tool records or processes
it (the call took effect, its answer and any secret are lost: the worst case); `N:sent`
right after the N-th "sent" journal line is fsynced, before the request leaves.

Expected after each kill, precisely: the next apply (no kill) exits 0; live equals the
config with no duplicate; every API key and generated webhook secret is in the secrets
file, and each key's secret on file authenticates as that key (so a recovered secret is the
right one); the journal is empty; a plan shows no changes. The emulator keeps idempotent
responses 24 h, so every lost secret is recoverable here; the expired case is its own test.
"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from reconcile.apply.secrets import PENDING_SUFFIX
from reconcile.client import InfraiClient
from reliability_support import Account, account, assert_converged, cli_env, config, run_cli_process, secrets_on_file

SHAPE = dict(projects=3, keys=3, webhooks=2, alerts=2, members=2)
# A fresh apply makes about 20 mutating calls (tier, budget, 3 projects, 9 keys, 2 webhooks,
# 2 alerts, 2 members); the kill points spread over the whole walk.
KILL_POINTS = ["1", "3", "5", "8", "13", "17", "2:sent", "9:sent"]


def _drain(emulator) -> None:
    """Wait (bounded, by condition) until no request of the killed process is still running
    in the emulator, so the next apply reads settled state."""
    guard = emulator.app.state.emulator.idempotency
    for _ in range(500):
        if not guard.in_flight:
            return
        time.sleep(0.01)  # polling a condition, bounded; not a timing assumption
    raise AssertionError("the emulator still runs requests of the killed apply")


def _check_secrets(account: Account, url: str, secrets_file: Path) -> None:
    on_file = secrets_on_file(secrets_file)
    keys = account.created_keys()
    assert keys, "no key was created"
    for address, key_id in keys.items():
        entry = on_file.get(f"{address}.key_secret")
        assert entry is not None, f"{address}: its secret is neither on file nor reported lost"
        assert entry["id"] == key_id, f"{address}: the secret on file is for another key"
        with InfraiClient(url, entry["value"]) as as_key:
            as_key.request("GET", "/v1/account/projects/list")  # 401 if it is not this key's secret
    for hook in account.items("/v1/account/webhooks/list"):
        assert f'webhooks["{hook["url"]}"].secret' in on_file, f"{hook['url']}: its signing secret was lost"


def _check_left_by_the_kill(secrets_file: Path) -> None:
    """What a kill leaves is valid in its documented format (docs/secrets.md): the secrets
    file a JSON secrets document (or absent), its log one such document a line, both 0600."""
    if secrets_file.exists():
        assert set(json.loads(secrets_file.read_text())) == {"secrets"}
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    log = secrets_file.with_name(secrets_file.name + PENDING_SUFFIX)
    if log.exists():
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        assert all(set(json.loads(line)) == {"secrets"} for line in log.read_text().splitlines())


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sigkill_then_rerun_converges_without_duplicates_or_lost_secrets(kill_at, http_emulator, account, tmp_path,
                                                                         secret_scan):
    url, key, emu = http_emulator
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text(config(**SHAPE))
    args = ("apply", "infrai.yaml", "--auto-approve", "--secrets-out", "secrets.json", "--parallelism", "4")

    killed = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan,
                             kill_at=kill_at)
    assert killed.returncode == -9, f"the crash hook did not fire at {kill_at}:\n{killed.output[-2000:]}"
    journal = tmp_path / ".infrai-journal.jsonl"
    assert journal.read_text().count('"state":"sent"') >= int(kill_at.split(":")[0])
    _check_left_by_the_kill(tmp_path / "secrets.json")
    _drain(emu)

    rerun = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan)
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert "cannot be recovered" not in rerun.output
    assert_converged(account, **SHAPE)
    _check_secrets(account, url, tmp_path / "secrets.json")
    assert journal.read_text() == "", "a completed apply leaves an empty journal"
    again = run_cli_process("plan", "infrai.yaml", env=cli_env(url, key), cwd=tmp_path, scan=secret_scan)
    assert "No changes" in again.stdout, again.output


def test_a_lost_secret_whose_request_expired_is_reported_with_the_rotation_that_fixes_it(http_emulator, account,
                                                                                          tmp_path, secret_scan):
    url, key, emu = http_emulator
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text("projects:\n  - name: solo\n    keys:\n      - name: k\n")
    args = ("apply", "infrai.yaml", "--auto-approve", "--secrets-out", "secrets.json")
    # Responses: 1 the project, 2 the key (its secret lost with the process).
    killed = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan,
                             kill_at="2")
    assert killed.returncode == -9
    _drain(emu)
    # A day and more later, the API no longer remembers the request: nothing can replay it.
    account.api.request("POST", "/_emulator/clock", json={"advance_seconds": 25 * 3600})

    told = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan)
    assert told.returncode == 1, told.output
    assert "projects.solo.keys.k: the API key's secret from the interrupted apply" in told.output
    assert "cannot be recovered" in told.output and "--replace projects.solo.keys.k" in told.output
    assert len([k for k in account.items("/v1/account/keys/list") if k["name"] == "k"]) == 1  # not created twice
    # Said again on every apply until fixed: never silently forgotten.
    again = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan)
    assert again.returncode == 1 and "cannot be recovered" in again.output

    fixed = run_cli_process(*args, "--replace", "projects.solo.keys.k", env=cli_env(url, key), cwd=tmp_path,
                            scan=secret_scan)
    assert fixed.returncode == 0, fixed.output
    entry = secrets_on_file(tmp_path / "secrets.json")["projects.solo.keys.k.key_secret"]
    with InfraiClient(url, entry["value"]) as as_key:
        as_key.request("GET", "/v1/account/projects/list")
    quiet = run_cli_process(*args, env=cli_env(url, key), cwd=tmp_path, scan=secret_scan)
    assert quiet.returncode == 0 and "secret" not in quiet.stderr, quiet.output
    assert (tmp_path / ".infrai-journal.jsonl").read_text() == ""


def test_two_applies_never_share_a_journal(http_emulator, tmp_path, secret_scan):
    """The journal is locked while an apply runs; a second one on the same file is refused."""
    from reconcile.apply.journal import ApplyJournal, JournalError

    with ApplyJournal(tmp_path / "j.jsonl"):
        with pytest.raises(JournalError, match="another apply is running with the journal"):
            ApplyJournal(tmp_path / "j.jsonl")
    ApplyJournal(tmp_path / "j.jsonl").close()  # released with the first
