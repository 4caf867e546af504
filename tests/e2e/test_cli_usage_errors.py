"""A user's mistake on the command line is a one-line message and exit 1, never a traceback:
a `--local` value that is not an emulator database (checked before SQLite opens it), an
output path in a directory that does not exist. A new `--local` database is private (0600):
it holds the bootstrap key and every secret the emulator issues. `graph` honours --parallelism."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import reconcile.workflow.engine

CONFIG = "version: 1\nprojects:\n  - name: web\n"


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(CONFIG)
    b.write_text(CONFIG)
    return a, b


def assert_message(result, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("Error: ") == 1, result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


def test_local_in_a_directory_that_does_not_exist(run_cli, configs, tmp_path):
    missing = tmp_path / "nowhere" / "x.db"
    assert_message(run_cli("plan", str(configs[0]), "--local", str(missing)),
                   f"--local {missing}: cannot create the emulator database",
                   f"the directory {missing.parent} does not exist")


def test_local_before_the_paths_takes_a_config_file_and_never_touches_it(run_cli, configs):
    a, b = configs
    result = run_cli("plan", "--local", str(a), str(b))
    assert_message(result, f"--local {a}: that is a config file, not an emulator database",
                   "write --local=DB", "put --local after the paths")
    assert a.read_text() == CONFIG
    assert not Path(f"{a}-wal").exists() and not Path(f"{a}-journal").exists()


def test_local_given_a_directory_or_a_file_that_is_not_sqlite(run_cli, configs, tmp_path):
    assert_message(run_cli("plan", "--local", str(tmp_path), str(configs[0])),
                   f"--local {tmp_path}: that is a directory", "--local=DB")
    plan_json = tmp_path / "plan.json"
    plan_json.write_text("{}\n")
    assert_message(run_cli("plan", str(configs[0]), f"--local={plan_json}"),
                   f"--local {plan_json}: not an emulator database", "--local=DB")
    assert plan_json.read_text() == "{}\n"


@pytest.mark.parametrize("option", ["--out", "--gitlab-report", "--drift-report"])
def test_plan_output_in_a_missing_directory(run_cli, configs, tmp_path, option):
    target = tmp_path / "nowhere" / "file.json"
    result = run_cli("plan", str(configs[0]), "--local", str(tmp_path / "x.db"), option, str(target))
    assert_message(result, f"{target}", f"the directory {target.parent} does not exist")
    assert ".tmp" not in result.stderr  # the message names the file the user asked for


def test_export_to_a_missing_directory(run_cli, tmp_path):
    target = tmp_path / "nowhere" / "dir" / "x.yaml"
    assert_message(run_cli("export", "--local", str(tmp_path / "x.db"), "-o", str(target)),
                   f"cannot write {target}: the directory {target.parent} does not exist")


def test_a_new_local_database_is_readable_by_its_owner_only(run_cli, configs, tmp_path):
    db = tmp_path / "new.db"
    result = run_cli("apply", str(configs[0]), "--local", str(db), "--auto-approve",
                     "--secrets-out", str(tmp_path / "s.env"))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    # The default file, made by a bare --local, too.
    assert run_cli("plan", str(configs[0]), "--local").exit_code == 0
    assert stat.S_IMODE((tmp_path / ".infrai-local.db").stat().st_mode) == 0o600


def test_graph_reads_the_account_with_the_given_parallelism(run_cli, configs, tmp_path, monkeypatch):
    seen: list[int] = []
    real = reconcile.workflow.engine.read_live

    def spy(client, *args, parallelism, **kwargs):
        seen.append(parallelism)
        return real(client, *args, parallelism=parallelism, **kwargs)

    monkeypatch.setattr(reconcile.workflow.engine, "read_live", spy)
    result = run_cli("graph", str(configs[0]), "--local", str(tmp_path / "x.db"), "--parallelism", "3")
    assert result.exit_code == 0, result.output
    assert seen == [3]
