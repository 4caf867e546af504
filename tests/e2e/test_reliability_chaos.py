"""Chaos: a flaky API (5xx, 429, dropped connections) never makes an apply act twice.

The emulator is served over real HTTP with fixed-seed faults on every `/v1` request: 5% 500,
5% 503, 5% 429 (each with `Retry-After: 1`, honoured) and 2% dropped connections. The config
has 36 resources of every listable kind. The client retries each call up to 8 times (every
write carries its idempotency key, so a retried write is replayed, never repeated).

Expected, precisely: the apply exits 0. The faults are drawn per request number, and which
call gets which number depends on thread timing, so a call may in principle exhaust its 9
attempts (probability about 0.22**9 ≈ 1e-6 per call): then that apply exits 1 naming the
HTTP failure, and one re-run under the same faults exits 0. Either way, afterwards the
account read through the API (not through the tool) equals the config, with no duplicate
of anything, and a plan under the same faults shows no changes.
"""

from __future__ import annotations

from reliability_support import account, assert_converged, cli_env, config, run_cli_process  # noqa: F401

FAULTS = {"error_500": 0.05, "error_503": 0.05, "error_429": 0.05, "drop": 0.02, "seed": 20240611}


def test_flaky_api_apply_converges_without_duplicates(http_emulator, account, tmp_path, secret_scan):
    url, key, _ = http_emulator
    secret_scan.directory(tmp_path)
    (tmp_path / "infrai.yaml").write_text(config())
    env = cli_env(url, key, INFRAI_RETRIES="8", INFRAI_RETRY_DELAY="0.005")
    account.faults(**FAULTS)
    args = ("apply", "infrai.yaml", "--auto-approve", "--secrets-out", "secrets.json", "--parallelism", "6")

    first = run_cli_process(*args, env=env, cwd=tmp_path, scan=secret_scan)
    if first.returncode != 0:
        assert "Apply incomplete" in first.stdout and "HTTP" in first.output, first.output[-3000:]
        second = run_cli_process(*args, env=env, cwd=tmp_path, scan=secret_scan)
        assert second.returncode == 0, second.output[-3000:]
    else:
        assert "Apply complete: 36 done, 0 failed" in first.stdout, first.stdout[-2000:]

    plan = run_cli_process("plan", "infrai.yaml", env=env, cwd=tmp_path, scan=secret_scan)
    assert plan.returncode == 0 and "No changes" in plan.stdout, plan.output[-2000:]
    account.faults()  # checked without faults, through the test's own client
    assert_converged(account)
