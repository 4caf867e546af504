"""Ctrl-C during an apply: the steps in flight finish, nothing new starts, the report says
what was done and counts what was not started (listing only the first few), one line says
what to do next, the exit status is 130, and a re-run converges.

The emulator answers every `/v1` request 250 ms late (fault `latency_ms`), so steps are in
flight when SIGINT arrives; the test sends it when the first step's progress line appears.
"""

from __future__ import annotations

import re
import signal

from reliability_support import (  # noqa: F401
    account,
    assert_converged,
    cli_env,
    config,
    finish,
    run_cli_process,
    start_cli,
    wait_for_progress,
)

SHAPE = dict(projects=4, keys=3, webhooks=1, alerts=1, members=1)


def test_sigint_finishes_steps_in_flight_reports_and_rerun_converges(http_emulator, account, tmp_path, secret_scan):
    url, key, _ = http_emulator
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text(config(**SHAPE))
    env = cli_env(url, key)
    args = ("apply", "infrai.yaml", "--auto-approve", "--secrets-out", "secrets.json", "--parallelism", "2")
    account.faults(latency_ms=250)

    proc = start_cli(*args, env=env, cwd=tmp_path)
    before = wait_for_progress(proc)
    proc.send_signal(signal.SIGINT)
    run = finish(proc, args, secret_scan)
    run.stderr = before + run.stderr
    account.faults()

    assert run.returncode == 130, run.output[-3000:]
    assert "Traceback" not in run.output
    assert "(interrupted)." in run.stdout and "Apply incomplete:" in run.stdout, run.stdout
    summary = re.search(r"Apply incomplete: (\d+) done, (\d+) failed, (\d+) skipped, (\d+) not started", run.stdout)
    assert summary, run.stdout
    done, failed, skipped, not_started = map(int, summary.groups())
    assert failed == 0 and not_started > 0 and done >= 1
    # One line says what finished and what to do; the report lists at most 3 not-started steps.
    assert run.stderr.strip().splitlines()[-1] == (
        f"Interrupted: {done} of {done + not_started} step(s) done, {not_started} not started; the steps in "
        "flight finished, nothing is half done. Run apply again to continue.")
    assert run.stdout.count(": create not started") + run.stdout.count(": update not started") <= 3
    if not_started > 3:
        assert f"... and {not_started - 3} more not started" in run.stdout
    # No half state: what the report calls done is live, what it calls not started is not.
    live_projects = {p["name"] for p in account.items("/v1/account/projects/list")}
    for address, status in re.findall(r"^  \+ (projects\.[\w-]+): create (\w[\w ]*)", run.stdout, re.M):
        name = address.split(".")[1]
        assert (name in live_projects) == status.startswith("done"), (address, status)
    live_keys = [k for k in account.items("/v1/account/keys/list") if k["name"] != "bootstrap"]
    secrets = (tmp_path / "secrets.json").read_text() if (tmp_path / "secrets.json").exists() else ""
    for k in live_keys:  # every key created before the stop has its secret on file
        assert k["key_id"] in secrets

    rerun = run_cli_process(*args, env=env, cwd=tmp_path, scan=secret_scan)
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert_converged(account, **SHAPE)
    assert (tmp_path / ".infrai-journal.jsonl").read_text() == ""
