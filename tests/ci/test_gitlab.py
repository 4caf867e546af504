"""GitLab: the Terraform-style plan report and the Code Quality report, checked against the
shapes GitLab documents (artifacts:reports:terraform and artifacts:reports:codequality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ci_support import REPO
from click.testing import CliRunner

from reconcile.render.gitlab import codequality_report, plan_report
from reconcile.cli.main import cli
from reconcile.errors import Reason, SourcePosition
from reconcile.plan import Action, Change, Plan


def change(action: Action, n: int) -> Change:
    return Change(f"projects.p{n}", "project", (f"p{n}",), action, None, None)


def test_plan_report_counts_a_replace_as_create_plus_delete_and_a_rotation_as_update():
    plan = Plan(tuple(change(a, i) for i, a in enumerate(
        [Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.ROTATE, Action.REPLACE])))
    assert plan_report(plan) == {"create": 3, "update": 2, "delete": 3}


def test_plan_writes_the_gitlab_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", str(REPO / "examples" / "quickstart"), "--local", "db",
                                      "--gitlab-report", "tfplan.json"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "tfplan.json").read_text())
    assert set(report) == {"create", "update", "delete"} and all(type(v) is int for v in report.values())
    assert report["create"] > 0


def test_codequality_report_has_gitlabs_required_fields():
    reasons = [Reason("name must be a string", SourcePosition("infra/a.yaml", 3, 11), "projects[0].name"),
               Reason("name must be a string", SourcePosition("infra/a.yaml", 9, 11), "projects[0].name"),
               Reason("no files found", None, "")]
    issues = codequality_report(reasons)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["path"], str) and isinstance(issue["location"]["lines"]["begin"], int)
    assert issues[0]["location"] == {"path": "infra/a.yaml", "lines": {"begin": 3}}
    assert len({i["fingerprint"] for i in issues}) == 3  # GitLab dedupes on it: never two alike


def test_validate_format_gitlab_codequality(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("projects:\n  - name: 5\n")
    bad = CliRunner().invoke(cli, ["validate", "bad.yaml", "--format", "gitlab-codequality"])
    assert bad.exit_code == 1
    (issue,) = json.loads(bad.stdout)
    assert issue["location"] == {"path": "bad.yaml", "lines": {"begin": 2}}
    assert issue["description"] == "projects[0].name: name must be a string, not an integer ('5')"
    good = CliRunner().invoke(cli, ["validate", str(REPO / "examples" / "quickstart"), "--format", "gitlab-codequality"])
    assert good.exit_code == 0 and json.loads(good.stdout) == []


def test_code_quality_report_stays_json_under_github_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Annotations go to stderr: stdout must stay the report a CI system parses.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("projects:\n  - name: 5\n")
    result = CliRunner().invoke(cli, ["validate", "bad.yaml", "--format", "gitlab-codequality"],
                                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")})
    assert result.exit_code == 1
    (issue,) = json.loads(result.stdout)
    assert issue["location"]["path"] == "bad.yaml"
    assert result.stderr.startswith("::error file=bad.yaml,line=2,col=11,")
