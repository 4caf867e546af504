"""Two applies at once against one account never create anything twice.

Each runs as its own subprocess in its own working directory (its own journal: one journal
is never shared, see docs/journal.md), both started together against one emulator whose
requests take 30 ms, so their walks overlap.

Expected, precisely: the account lease (apply/lease.py, docs/journal.md) lets one apply run
at a time; the other, if they overlap, exits 1 before any change saying another apply holds
the lease.
- Same config: each apply exits 0, or exits 1 refused by the lease (or, should one get past
  it, naming an HTTP 409: every kind here has an identity the API enforces). Afterwards
  nothing is duplicated, and a third apply converges (exit 0) after which a plan is empty.
- Same saved plan (bandwidth alerts included, which the API does not keep unique): one
  applies it; the other is refused by the lease or, started after, finds every step done.
  There is exactly one of everything.
"""

from __future__ import annotations

from reliability_support import (  # noqa: F401
    account,
    assert_converged,
    cli_env,
    config,
    finish,
    run_cli_process,
    start_cli,
)

LEASE_REFUSAL = "another apply is running on this account: the account lease is held by"
UNIQUE_ONLY = dict(projects=4, keys=3, webhooks=2, alerts=0, members=2)


def _both(args, env, dirs, scan):
    procs = [start_cli(*args, env=env, cwd=d) for d in dirs]
    return [finish(p, args, scan) for p in procs]


def test_two_applies_of_one_config_at_once_converge_without_duplicates(http_emulator, account, tmp_path,
                                                                       secret_scan):
    url, key, _ = http_emulator
    dirs = [tmp_path / "ci-a", tmp_path / "ci-b", tmp_path / "ci-c"]
    for d in dirs:
        d.mkdir()
        secret_scan.directory(d)
        (d / "infrai.yaml").write_text(config(**UNIQUE_ONLY).replace("bandwidth_alerts:\n", ""))
    env = cli_env(url, key)
    args = ("apply", "infrai.yaml", "--auto-approve", "--secrets-out", "secrets.json", "--parallelism", "4")
    account.faults(latency_ms=30)
    runs = _both(args, env, dirs[:2], secret_scan)
    for run in runs:
        assert run.returncode == 0 or "HTTP 409" in run.stdout or LEASE_REFUSAL in run.output, run.output[-3000:]
        assert "Traceback" not in run.output
    assert any(run.returncode == 0 for run in runs)
    account.faults()
    third = run_cli_process(*args, env=env, cwd=dirs[2], scan=secret_scan)
    assert third.returncode == 0, third.output[-3000:]
    plan = run_cli_process("plan", "infrai.yaml", env=env, cwd=dirs[2], scan=secret_scan)
    assert "No changes" in plan.stdout, plan.output
    assert_converged(account, **UNIQUE_ONLY)


def test_two_applies_of_one_saved_plan_at_once_replay_instead_of_repeating(http_emulator, account, tmp_path,
                                                                           secret_scan):
    url, key, _ = http_emulator
    shape = dict(projects=2, keys=2, webhooks=1, alerts=4, members=1)
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text(config(**shape))
    env = cli_env(url, key)
    saved = run_cli_process("plan", "infrai.yaml", "--out", "plan.json", env=env, cwd=tmp_path, scan=secret_scan)
    assert saved.returncode == 0, saved.output
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
        (d / "plan.json").write_bytes((tmp_path / "plan.json").read_bytes())
    account.faults(latency_ms=30)
    runs = _both(("apply", "plan.json", "--auto-approve", "--secrets-out", "secrets.json", "--parallelism", "4"),
                 env, dirs, secret_scan)
    account.faults()
    for run in runs:
        assert run.returncode == 0 or LEASE_REFUSAL in run.output, run.output[-3000:]
    assert any(run.returncode == 0 for run in runs)
    assert_converged(account, **shape)
