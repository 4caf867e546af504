"""The action's own PR comment, against a fake GitHub REST API on a loopback port: the step
of action.yml runs (bash, the real CLI, the emulator) with a pull_request event, and the
fake records every call. One comment per environment, found by its marker and edited in
place; other environments' and people's comments untouched; Link-header pagination;
GITHUB_API_URL honoured; read-only tokens and missing tokens degrade to a notice."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_support import REPO, RUN_STEP, run_steps
from fake_github import FakeGitHub

from reconcile.cli.ci.github import marker
from reconcile.cli.ci.github_api import comment_has_marker

sys.path.insert(0, str(Path(__file__).parents[1] / "emulator"))
from live_server import live_server  # noqa: E402

PR = 7


@pytest.fixture
def job(tmp_path: Path, github: FakeGitHub):
    """Run the action's step in a pull_request job; returns (outputs, summary text, process)."""
    (tmp_path / "repo").mkdir()
    shutil.copytree(REPO / "examples" / "quickstart", tmp_path / "repo" / "infra")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": PR}}))

    def run(name: str, token: str | None = github.token, **inputs: str):
        env = {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "o/r",
               "GITHUB_API_URL": github.api_url}
        values = {"command": "plan", "paths": "infra", "local": "true", "name": name, **inputs}
        if token is not None:
            values["github-token"] = token
        summary = tmp_path / "step_summary.md"
        summary.unlink(missing_ok=True)
        outputs, summary, (step,) = run_steps(tmp_path, values, only=RUN_STEP, extra_env=env)
        return outputs, summary.read_text() if summary.exists() else "", step

    return run


def bodies(github: FakeGitHub) -> list[str]:
    return [c["body"] for c in github.comments.get(PR, [])]


def test_markers_of_similar_names_never_collide():
    assert marker("prod/eu") == "<!-- infrai-reconcile:plan:prod%2Feu -->"
    assert marker("prod-eu") == "<!-- infrai-reconcile:plan:prod-eu -->"
    assert marker("a -->b") == "<!-- infrai-reconcile:plan:a%20--%3Eb -->"  # cannot close the comment early
    names = ["prod/eu", "prod-eu", "prod eu", "prod%2Feu", "prod_eu", "PROD/EU", "prod.eu"]
    assert len({marker(n) for n in names}) == len(names)  # percent-encoding is one-to-one
    assert comment_has_marker(marker("prod/eu") + "\nplan", marker("prod/eu"))
    assert not comment_has_marker(marker("prod-eu") + "\nplan", marker("prod/eu"))
    assert not comment_has_marker("> " + marker("prod/eu"), marker("prod/eu"))  # somebody quoting it


def test_comment_is_created_then_edited_and_other_comments_are_untouched(job, github: FakeGitHub, tmp_path: Path):
    # 45 comments by people first: the bot's must be found past the first page (30).
    for i in range(45):
        github.add_comment(PR, f"LGTM {i}")
    outputs, _, step = job("prod/eu")
    assert step.returncode == 0, step.stderr
    assert len(bodies(github)) == 46
    mine = github.comments[PR][-1]
    assert mine["body"].startswith(marker("prod/eu") + "\n### Infrai plan: prod/eu")
    assert outputs["comment_url"] == mine["html_url"]
    assert all(r.path.startswith("/api/v3/repos/o/r/") for r in github.requests)
    assert all(r.authorization == f"Bearer {github.token}" for r in github.requests)
    # A second environment whose slug-ified name would have been the same gets its own.
    job("prod-eu")
    assert len(bodies(github)) == 47
    other = github.comments[PR][-1]
    assert other["body"].startswith(marker("prod-eu") + "\n")

    # The next push changes the plan: prod/eu's comment is edited (PATCH), not duplicated.
    (tmp_path / "repo" / "infra" / "more.yaml").write_text("projects:\n  - name: extra-one\n")
    before = len(github.requests)
    outputs, _, step = job("prod/eu")
    assert step.returncode == 0, step.stderr
    writes = [r for r in github.requests[before:] if r.method != "GET"]
    assert [(r.method, r.path) for r in writes] == [("PATCH", f"/api/v3/repos/o/r/issues/comments/{mine['id']}")]
    assert [r.query for r in github.requests[before:] if r.method == "GET"] == ["per_page=100",
                                                                                  "per_page=30&page=2"]
    assert len(bodies(github)) == 47
    assert "projects.extra-one" in mine["body"]
    assert "projects.extra-one" not in other["body"]  # the other environment's comment is untouched
    assert bodies(github)[:45] == [f"LGTM {i}" for i in range(45)]


def test_read_only_token_of_a_fork_degrades_to_the_summary_with_a_notice(job, github: FakeGitHub):
    github.read_only = True
    outputs, summary, step = job("staging")
    assert step.returncode == 0, step.stderr
    assert outputs["exitcode"] == "2" and outputs["comment_url"] == ""
    notice = [line for line in step.stderr.splitlines() if line.startswith("::notice")]
    assert len(notice) == 1 and "HTTP 403" in notice[0] and "fork" in notice[0]
    assert "::notice" not in step.stdout and "::error" not in step.stderr
    assert "| create | update |" in summary and "could not comment on pull request #7" in summary
    assert github.comments.get(PR) is None


def test_missing_token_degrades_to_the_summary_with_a_notice(job, github: FakeGitHub):
    outputs, summary, step = job("staging", token="")
    assert step.returncode == 0, step.stderr
    assert outputs["exitcode"] == "2"
    assert any(line.startswith("::notice") and "no GitHub token" in line for line in step.stderr.splitlines())
    assert "no GitHub token" in summary and github.requests == []


def test_comment_false_posts_nothing(job, github: FakeGitHub):
    outputs, _, step = job("staging", comment="false")
    assert step.returncode == 0 and outputs["comment_path"] and github.requests == []


def test_deletes_come_first_with_a_banner_an_output_and_a_label(job, github: FakeGitHub, tmp_path: Path):
    outputs, _, step = job("prod", command="apply", args="--secrets-out ../secrets.json")
    assert step.returncode == 0 and outputs["applied"] != "0", step.stderr
    config = tmp_path / "repo" / "infra" / "infrai.yaml"
    original = config.read_text()
    config.write_text(original.split("\nwebhooks:")[0] + "\n" + original.split("\nbandwidth_alerts:")[1].join(
        ["\nbandwidth_alerts:", ""]))
    label = {"destroy-label": "infrai: destroys"}
    outputs, _, step = job("prod", args="--prune webhooks", **label)
    assert step.returncode == 0, step.stderr
    assert outputs["destroys"] == "true" and outputs["destroy_count"] == "1" and outputs["delete"] == "1"
    (body,) = bodies(github)
    assert body.index("⚠️ **This plan deletes/replaces 1 resource** (1 to delete, 0 to replace)") < body.index(
        "- **delete** `webhooks[") < body.index("<details>")
    assert github.labels[PR] == {"infrai: destroys"}
    warnings = [line for line in step.stderr.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "title=infrai plan%3A delete::webhooks[" in warnings[0]
    assert "::warning" not in step.stdout
    assert "::group::Plan: prod" in step.stdout and "::endgroup::" in step.stdout

    config.write_text(original)  # the pull request drops the delete: the label goes
    outputs, _, step = job("prod", args="--prune webhooks", **label)
    assert outputs["destroys"] == "false" and outputs["destroy_count"] == "0"
    assert github.labels[PR] == set() and "This plan deletes" not in bodies(github)[0]


def test_fail_on_gates_after_the_comment_shows_the_failing_check(job, github: FakeGitHub, tmp_path: Path):
    config = tmp_path / "repo" / "infra" / "infrai.yaml"
    config.write_text(config.read_text() + "checks:\n  routing:\n    - capability: ai.chat\n"
                      "      expect_vendor: cohere\n")
    outputs, summary, step = job("prod", args="--fail-on warning")
    assert step.returncode == 4, step.stderr
    assert outputs["exitcode"] == "4" and outputs["plan_path"] == "" and outputs["comment_url"]
    assert outputs["failing_checks"] == "1"
    (body,) = bodies(github)  # posted before the gate: the reviewer sees why the step fails
    assert "| ❌ fail | warn | `routing` | ai.chat selects vendor openai; expected vendor cohere |" in body
    assert "ai.chat selects vendor openai" in summary
    errors = [line for line in step.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "title=infrai plan%3A --fail-on gate" in errors[0]
    assert "1 failing check at or above --fail-on warning" in errors[0]

    outputs, _, step = job("prod", args="--fail-on danger")
    assert step.returncode == 0 and outputs["exitcode"] == "2", step.stderr  # a `warn` check: danger lets it pass
    assert "expected vendor cohere" in bodies(github)[0]  # still reported, in the same comment


def test_apply_reports_the_after_apply_checks_in_the_log_and_the_summary(job, tmp_path: Path):
    config = tmp_path / "repo" / "infra" / "infrai.yaml"
    config.write_text(config.read_text() + "checks:\n  routing:\n    - capability: ai.chat\n"
                      "      expect_vendor: cohere\n")
    outputs, summary, step = job("prod", command="apply", args="--secrets-out ../secrets.json")
    assert step.returncode == 0 and outputs["applied"] != "0", step.stderr  # no --fail-on: reported only
    assert "**Checks (1 failing):**" in summary and outputs["failing_checks"] == "1"
    assert "| ❌ fail | warn | `routing` | ai.chat selects vendor openai; expected vendor cohere |" in summary
    assert "  FAIL    [warn] routing: ai.chat selects vendor openai; expected vendor cohere" in step.stdout
