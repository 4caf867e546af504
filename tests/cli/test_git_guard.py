"""`apply` refuses to write secrets to a file git would commit: inside a work tree and not
ignored, or already tracked, unless `--allow-tracked-secrets`. Real git repositories in temp
directories; the account is the embedded emulator, in a database outside the repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli.git_guard import git_would_track
from reconcile.cli.main import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

CONFIG = "version: 1\nprojects:\n  - name: web\n    keys:\n      - name: ci\n"
CLEAN = {"NO_COLOR": None, "FORCE_COLOR": None, "CI": None, "GITHUB_ACTIONS": None, "INFRAI_SECRETS_OUT": None,
         "INFRAI_APPLY_SECRETS_OUT": None, "GIT_DIR": None, "GIT_WORK_TREE": None}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_scan) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "infrai.yaml").write_text(CONFIG)
    monkeypatch.chdir(root)
    secret_scan.directory(tmp_path)
    return root


def apply(tmp_path: Path, *extra: str, env: dict[str, str | None] | None = None):
    db = str(tmp_path / "account.db")
    return CliRunner().invoke(cli, ["apply", "infrai.yaml", "--local", db, "--auto-approve", *extra],
                              env={**CLEAN, **(env or {})})


def projects(tmp_path: Path) -> set[str]:
    out = CliRunner().invoke(cli, ["export", "--local", str(tmp_path / "account.db"), "--kinds", "projects"], env=CLEAN)
    return {line.split("name:")[1].strip() for line in out.stdout.splitlines() if "name:" in line}


def test_refuses_a_secrets_file_git_would_commit_and_changes_nothing(repo, tmp_path):
    result = apply(tmp_path, "--secrets-out", "secrets.json")
    assert result.exit_code == 1, result.output
    assert "refusing to write secrets where git would commit them; nothing was applied" in result.stderr
    assert "secrets.json is inside a git work tree and not ignored" in result.stderr
    assert "Add secrets.json to .gitignore" in result.stderr and "--allow-tracked-secrets" in result.stderr
    assert not (repo / "secrets.json").exists()
    assert "web" not in projects(tmp_path)


def test_an_ignored_file_is_fine(repo, tmp_path):
    (repo / ".gitignore").write_text("secrets.json\n*.pending.jsonl\n")
    result = apply(tmp_path, "--secrets-out", "secrets.json")
    assert result.exit_code == 0, result.output
    assert json.loads((repo / "secrets.json").read_text())["secrets"]
    assert "warning" not in result.stderr


def test_an_ignored_file_whose_crash_log_is_not_ignored_gets_a_warning(repo, tmp_path):
    (repo / ".gitignore").write_text("secrets.json\n")
    result = apply(tmp_path, "--secrets-out", "secrets.json")
    assert result.exit_code == 0, result.output
    assert "warning: secrets.json.pending.jsonl" in result.stderr and "`*.pending.jsonl`" in result.stderr


def test_a_tracked_file_is_refused_even_when_ignored(repo, tmp_path):
    (repo / "secrets.json").write_text('{"secrets": {}}\n')
    git(repo, "add", "secrets.json")
    (repo / ".gitignore").write_text("secrets.json\n")
    result = apply(tmp_path, "--secrets-out", "secrets.json")
    assert result.exit_code == 1 and "secrets.json is tracked by git" in result.stderr, result.output


def test_the_flag_writes_anyway_with_a_warning(repo, tmp_path):
    result = apply(tmp_path, "--secrets-out", "keys.env", "--allow-tracked-secrets")
    assert result.exit_code == 0, result.output
    assert "warning: writing secrets to keys.env, which is inside a git work tree and not ignored" \
        in result.stderr
    assert (repo / "keys.env").exists()


def test_the_default_file_and_config_file_sinks_are_checked_too(repo, tmp_path):
    assert apply(tmp_path).exit_code == 1  # no sink: the default .infrai-secrets.json in the work tree
    (repo / "infrai.yaml").write_text(CONFIG + "secrets:\n  sinks:\n    - file: out/keys.json\n")
    (repo / "out").mkdir()
    result = apply(tmp_path)
    assert result.exit_code == 1 and "out/keys.json is inside a git work tree" in result.stderr, result.output


def test_the_repositorys_own_gitignore_keeps_secrets_journal_and_databases_out(tmp_path):
    checkout = Path(__file__).resolve().parents[2]
    if git_would_track(checkout / "README.md") is None:
        pytest.skip("not a git checkout (an unpacked sdist, say)")
    for name in ("secrets.json", "prod.secrets.json", ".infrai-secrets.json", "secrets.json.recovery.json",
                 "secrets.json.pending.jsonl", "account.db.key", "keys.env", ".env", ".infrai-journal.jsonl", ".infrai-local.db", ".infrai-local.db-wal",
                 ".infrai-emulator.db", "account.db"):
        assert git_would_track(checkout / name) is None, name
    assert git_would_track(checkout / "README.md") == "is tracked by git"


def test_outside_a_work_tree_or_without_git_nothing_is_checked(tmp_path, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_would_track(outside / "secrets.json") is None
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    assert git_would_track(repo / "secrets.json") is not None
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert git_would_track(repo / "secrets.json") is None


def test_keys_compromised_checks_its_secrets_file_before_the_reissue(repo, tmp_path):
    assert apply(tmp_path, "--secrets-out", "../outside.json").exit_code == 0
    result = CliRunner().invoke(cli, ["keys", "compromised", "projects.web.keys.ci", "--local",
                                      str(tmp_path / "account.db"), "--secrets-out", "new.json"], env=CLEAN)
    assert result.exit_code == 1 and "new.json is inside a git work tree and not ignored" in result.stderr, result.output
    assert not (repo / "new.json").exists()
    (repo / ".gitignore").write_text("new.json\n")
    result = CliRunner().invoke(cli, ["keys", "compromised", "projects.web.keys.ci", "--local",
                                      str(tmp_path / "account.db"), "--secrets-out", "new.json"], env=CLEAN)
    assert result.exit_code == 0, result.output
