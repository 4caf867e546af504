"""A config file that declares nothing (0 bytes, only comments, `{}`) is valid and plans no
change, but validate, plan and apply warn on stderr, naming each such file; exit codes are
unchanged (docs/config-reference.md#files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli.main import cli


def _warning(name: str) -> str:
    return f"Warning: {name} declares no resources or settings: is this the right path?"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"CI": None})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("empty.yaml").write_text("", encoding="utf-8")
    Path("comments.yaml").write_text("# infra goes here\n\n", encoding="utf-8")
    Path("braces.yaml").write_text("{}\n", encoding="utf-8")
    Path("real.yaml").write_text("version: 1\ntier: pro\n", encoding="utf-8")
    return tmp_path


def test_validate_names_each_file_that_declares_nothing(files: Path) -> None:
    code, out, err = run("validate", "empty.yaml", "comments.yaml", "braces.yaml", "real.yaml")
    assert code == 0 and "Configuration is valid: 1 resources in 4 file(s)." in out
    assert err.splitlines() == [_warning("empty.yaml"), _warning("comments.yaml"), _warning("braces.yaml")]


def test_a_file_that_declares_something_is_not_named(files: Path) -> None:
    Path("only_version.yaml").write_text("version: 1\n", encoding="utf-8")
    code, _, err = run("validate", "real.yaml", "only_version.yaml")
    assert code == 0 and "Warning" not in err


@pytest.mark.parametrize("command", [["plan"], ["plan", "--detailed-exitcode"], ["apply", "--auto-approve"]])
def test_plan_and_apply_warn_and_keep_their_exit_codes(files: Path, command: list[str]) -> None:
    code, out, err = run(*command, "empty.yaml", "--local", str(files / "local.db"))
    assert code == 0, err
    assert "No changes." in out
    assert _warning("empty.yaml") in err.splitlines()
