"""Keep bench/ from rotting: the generator and the plan measurement on a tiny account, in
process. No timing assertions: the figures belong to `python bench/run.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
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
    requests, _, _ = run.plan_floor(result["live_counts"], 0.02, shape.total)
    assert result["requests"] <= requests


def test_floors() -> None:
    assert run.apply_floor({"1": 100, "2": 900}, 32, 0.02) == (1000, pytest.approx(33 * 0.02))
    requests, trips, seconds = run.plan_floor({"project": 2500, "api_key": 9000}, 0.02, 10_000)
    assert (trips, seconds) == (3, pytest.approx(0.1))
    assert requests == 1 + 4 + 3 + 1 + 3  # whoami, singletons, project pages, keys, 3 other lists


def test_changed_edits_the_requested_fraction(tiny: tuple[generate.Shape, Path, str]) -> None:
    _, config, _ = tiny
    desired = generate.load_desired(config)
    edited = run._changed(desired, 0.1)
    assert sum(edited.resources[a] != r for a, r in desired.resources.items()) == 10
