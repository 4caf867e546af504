"""Keep bench/ from rotting: the generator, the floor script, the process timer, the plan
measurement and the page, on a tiny account. No timing assertions: the figures belong to
`python bench/run.py`."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Iterator

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[generate.Shape, Path, str]:
    tmp = tmp_path_factory.mktemp("bench")
    shape = generate.Shape.of(100)
    config = generate.write_config(shape, tmp / "acct")
    db = str(tmp / "acct.db")
    done = generate.seed_db(db, generate.load_desired(config), parallelism=4)
    assert done["changes"] == shape.total
    return shape, config, db


def test_generated_config_loads_with_every_resource(tiny: tuple[generate.Shape, Path, str]) -> None:
    shape, config, _ = tiny
    desired = generate.load_desired(config)
    assert len(desired.resources) == shape.total == 100


def test_noop_plan_measurement_reads_with_list_calls_only(tiny: tuple[generate.Shape, Path, str]) -> None:
    shape, config, db = tiny
    desired = generate.load_desired(config)
    with generate.local_client(db) as client:
        result = run.measure_plan(client, desired, parallelism=10)
    assert result["changes"] == 0
    requests, _, _ = run.plan_floor(result["live_counts"], 0.02)
    assert result["requests"] <= requests


def test_floors() -> None:
    assert run.apply_floor({"1": 100, "2": 900}, 32, 0.02) == (1000, pytest.approx(33 * 0.02))
    requests, trips, seconds = run.plan_floor({"project": 2500, "api_key": 9000}, 0.02)
    assert (trips, seconds) == (3, pytest.approx(0.06))
    from reconcile.kinds import KINDS

    singletons = sum(1 for k in KINDS if k.singleton)  # one GET each, however many kinds there are
    assert requests == 1 + singletons + 3 + 1 + 3  # whoami, singletons, project pages, keys, 3 other lists


def test_changed_edits_the_requested_fraction(tiny: tuple[generate.Shape, Path, str]) -> None:
    _, config, _ = tiny
    desired = generate.load_desired(config)
    edited = run._changed(desired, 0.1)
    assert sum(edited.resources[a] != r for a, r in desired.resources.items()) == 10


@pytest.fixture(autouse=True)
def _no_launcher_left() -> Iterator[None]:
    yield
    run.Launcher.stop()  # the process that spawns timed commands is this test's to stop


def test_rows_fail_only_past_their_bound_and_say_why() -> None:
    assert run.Row("x", "", "", 1.4, 1.5).status == "met"
    between = run.Row("x", "", "", 1.7, 1.5, fail=2.0)
    assert not between.failed and between.status.startswith("missed the goal")
    assert run.Row("x", "", "", 2.1, 1.5, fail=2.0).failed
    assert run.Row("x", "", "", 0.8, 0.9, higher=True).failed
    assert not run.Row("x", "", "", 3.0, 1.5, judged=False).failed
    unmeasured = run.Row("x", "not measured", "", None, 0.9, higher=True)
    assert not unmeasured.failed and unmeasured.status == "not measured"
    assert run.Row("x", "", "", 1.0, 1.25, checks=[("RSS ≤ 300 MB", False)]).failed


def test_timed_processes_are_pinned_and_measured(tmp_path: Path) -> None:
    sample = run.time_process([sys.executable, "-c", "print('hello')"])
    assert sample.returncode == 0 and sample.output.strip() == "hello" and sample.wall_s > 0 and sample.rss_mb > 0


def test_the_floor_script_reads_and_creates_against_an_emulator(tiny: tuple[generate.Shape, Path, str],
                                                                tmp_path: Path) -> None:
    """bench/floor.py at a tiny size, against `reconcile emulator serve` on a free loopback port."""
    _, config, db = tiny
    copy = str(tmp_path / "acct.db")
    run.copy_db(db, copy)
    with generate.local_client(copy) as client:
        project = client.list_all("/v1/account/projects/list")[0]["id"]
    with run.Emulator(copy, 0, tmp_path / "emulator.log") as emu:
        job = tmp_path / "job.json"
        creates = [{"path": "/v1/account/keys/create", "body": {"project_id": project, "name": f"floor-{i}"},
                    "secret_field": "key_secret"} for i in range(3)]
        job.write_text(json.dumps({"url": emu.url, "parallelism": 2, "reads": run.read_chains(), "creates": creates}))
        env = {**os.environ, "INFRAI_API_KEY": emu.key}
        out = tmp_path / "floor-secrets.json"
        sample = run.time_process(run.floor_argv("--load", str(config), "--requests", str(job), "--secrets-out", str(out)),
                                  env=env)
        assert sample.returncode == 0, sample.output
        assert sorted(json.loads(out.read_text())["secrets"]) == ["floor-0", "floor-1", "floor-2"]
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_the_page_renders_from_saved_results() -> None:
    rows = [run.Row("`reconcile plan` 1,000 resources, no-op", "1.0 s", "0.5 s: floor", 2.0, 1.5)]
    results = {"command": "python bench/run.py --quick", "when": "now", "machine": run.machine(), "latency_ms": 20,
               "runs": 3, "quick": True, "load_before": [1, 1, 1], "load_after": [1, 1, 1], "seconds": 60,
               "rows": [report.row_dict(r) for r in rows], "breakdown": [], "notes": []}
    page = report.render(results, before=results)
    assert "| `reconcile plan` 1,000 resources, no-op | 1.0 s | 0.5 s: floor | 2.00× | ≤ 1.5× | **FAIL** ratio |" in page
    assert "1 row(s) miss their bound" in page and "## Before → after" in page and "## How to read it" in page


def test_the_emulator_is_pinned_to_its_own_cpu_even_after_this_process_pinned_itself(tmp_path: Path) -> None:
    """The bug this bench had: the emulator inherited the client's CPU. Skipped where there
    are not two CPUs to pin to."""
    if not run.can_pin():
        pytest.skip("needs CPUs 0 and 1 and sched_setaffinity")
    before = os.sched_getaffinity(0)
    db = str(tmp_path / "e.db")
    os.sched_setaffinity(0, {run.CLIENT_CPU})
    try:
        with run.Emulator(db, 0, tmp_path / "emulator.log") as emu:
            assert run.task_affinities(emu.proc.pid) == {frozenset({run.SERVER_CPU})}
        assert run.time_process([sys.executable, "-c", "pass"]).returncode == 0  # asserted on CPU 1 inside
    finally:
        os.sched_setaffinity(0, before)
