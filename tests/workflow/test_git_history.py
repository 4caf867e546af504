"""The bounded `git log -S` lookup of what a delete was last declared in
(reconcile/workflow/git_history.py): found in a real temporary repository, and nothing at all
once its time or its count of lookups is spent, or outside a work tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconcile.workflow.git_history import with_history
from reconcile.plan.model import Action, Change, Plan

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _delete(name: str) -> Change:
    return Change(address=f"projects.{name}", kind="project", identity=(name,), action=Action.DELETE,
                  before={"name": name}, after=None, reasons=("not declared and pruning is on",), live_id="p_1")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "a.yaml").write_text("projects:\n  - name: alpha\n  - name: beta\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "infra")
    _git(tmp_path, "commit", "-qm", "Add alpha and beta")
    (tmp_path / "infra" / "a.yaml").write_text("projects:\n  - name: alpha\n")
    _git(tmp_path, "commit", "-qam", "Drop beta")
    return tmp_path


def test_finds_the_last_commit_that_declared_it_and_the_one_that_removed_it(repo: Path):
    plan = with_history(Plan(changes=(_delete("beta"), _delete("gamma"))), ["infra"])
    beta, gamma = plan.changes
    assert beta.last_declared is not None
    assert beta.last_declared.file == "infra/a.yaml"
    assert beta.last_declared.commit == _git(repo, "rev-parse", "HEAD^")
    assert beta.last_declared.removed_in == _git(repo, "rev-parse", "HEAD")
    assert beta.last_declared.subject == "Add alpha and beta"
    assert gamma.last_declared is None  # never declared anywhere


def test_no_time_or_no_lookups_left_means_nothing_is_looked_up(repo: Path):
    plan = Plan(changes=(_delete("beta"),))
    assert with_history(plan, ["infra"], timeout_s=0).changes[0].last_declared is None
    assert with_history(plan, ["infra"], max_lookups=0).changes[0].last_declared is None


def test_outside_a_work_tree_nothing_is_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("projects: []\n")
    plan = Plan(changes=(_delete("beta"),))
    assert with_history(plan, ["a.yaml"]) is plan
