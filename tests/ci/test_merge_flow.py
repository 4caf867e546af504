"""The PR → merge journey through action.yml's step (bash, the real CLI as a child process)
against the emulator served over HTTP on a loopback port, and a fake GitHub API: the pull
request's job plans and saves the plan, the merge job applies exactly that file, a second
apply of it is a no-op, a plan made stale by a live change is refused, a missing one fails
without planning again (unless asked to)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_support import REPO, RUN_STEP, run_steps
from fake_github import FakeGitHub

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from e2e_support import Emulator, live_server  # noqa: E402


def project_names(emu: Emulator) -> list[str]:
    return [p["name"] for p in emu.items("/v1/account/projects/list")]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Emulator]]:
    emu = Emulator(tmp_path / "served.db")
    with live_server(emu.app) as url:
        yield url, emu
    emu.close()


@pytest.fixture
def flow(tmp_path: Path, served, github: FakeGitHub, secret_scan):
    url, emu = served
    secret_scan.directory(tmp_path)  # summaries, comments, saved plans: never a secret in them
    (tmp_path / "repo").mkdir()
    shutil.copytree(REPO / "examples" / "quickstart", tmp_path / "repo" / "infra")
    pr_event = tmp_path / "pr.json"
    pr_event.write_text(json.dumps({"pull_request": {"number": 3}}))
    push_event = tmp_path / "push.json"
    push_event.write_text(json.dumps({"ref": "refs/heads/main"}))
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()

    def job(event: Path, api_key: str | None = None, **inputs: str):
        env = {"INFRAI_API_KEY": api_key or emu.key, "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "o/r",
               "GITHUB_API_URL": github.api_url}
        (tmp_path / "step_summary.md").unlink(missing_ok=True)
        outputs, summary, (step,) = run_steps(tmp_path, {"paths": "infra", "endpoint": url, "name": "production",
                                                         "github-token": github.token, **inputs},
                                              only=RUN_STEP, extra_env=env)
        secret_scan.output("action step", step.stdout, step.stderr)
        return outputs, summary.read_text() if summary.exists() else "", step

    def pull_request() -> Path:
        """The PR job: plan, comment, and upload the saved plan (here: copy it aside)."""
        outputs, _, step = job(pr_event, command="plan")
        assert step.returncode == 0 and outputs["exitcode"] == "2", step.stderr
        artifact = artifacts / "infrai-plan-production.json"
        shutil.copy(outputs["plan_path"], artifact)
        return artifact

    def merge(plan_file: Path, api_key: str | None = None, **inputs: str):
        return job(push_event, api_key, command="apply", **{"plan-file": str(plan_file),
                                                            "args": "--secrets-out ../s.json", **inputs})

    return pull_request, merge, emu, github


def test_merge_applies_exactly_the_reviewed_plan_and_a_second_apply_is_a_no_op(flow):
    pull_request, merge, emu, github = flow
    reviewed = pull_request()
    assert len(github.comments[3]) == 1 and "to create" in github.comments[3][0]["body"]
    planned = json.loads(reviewed.read_text())["summary"]

    outputs, summary, step = merge(reviewed)
    assert step.returncode == 0, step.stderr
    assert outputs["exitcode"] == "0" and outputs["has_changes"] == "true"
    assert int(outputs["applied"]) == sum(planned.values()) and outputs["failed"] == "0"
    assert outputs["create"] == str(planned["create"])
    assert "web" in project_names(emu)
    assert "### Infrai apply: production" in summary and "(the plan reviewed in the pull request)" in summary
    assert "| ✅ | `projects.web` | create | succeeded |" in summary
    assert "::group::Apply: production" in step.stdout
    assert len(github.comments[3]) == 1  # the merge job comments on nothing

    outputs, summary, step = merge(reviewed)  # the same file again (a re-run of the merge job)
    assert step.returncode == 0, step.stderr
    assert outputs["exitcode"] == "0" and outputs["has_changes"] == "false" and outputs["applied"] == "0"
    assert outputs["create"] == "0" and outputs["destroys"] == "false"
    assert "No changes: the account already matched the plan." in summary


def test_a_plan_made_stale_by_a_live_change_is_refused_and_annotated(flow, tmp_path: Path):
    pull_request, merge, emu, _ = flow
    assert merge(pull_request())[2].returncode == 0
    config = tmp_path / "repo" / "infra" / "infrai.yaml"
    config.write_text(config.read_text().replace("env: dev", "env: staging"))
    reviewed = pull_request()
    (project,) = [p for p in emu.items("/v1/account/projects/list") if p["name"] == "web"]
    emu.api.request("PATCH", f"/v1/account/projects/update/{project['id']}", json={"rate_limit_rpm": 600})

    outputs, summary, step = merge(reviewed)
    assert step.returncode == 1 and outputs["exitcode"] == "1" and outputs["applied"] == "0"
    assert "**Nothing was applied.**" in summary and "> plan is stale" in summary
    (error,) = [line for line in step.stderr.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=infrai apply%3A stale plan::plan is stale") and "projects.web" in error
    assert "::error" not in step.stdout
    web = [p for p in emu.items("/v1/account/projects/list") if p["name"] == "web"]
    assert web[0]["metadata"]["env"] == "dev"  # nothing applied


def test_a_missing_reviewed_plan_fails_and_never_plans_again_unless_asked(flow, tmp_path: Path):
    _, merge, emu, _ = flow
    outputs, _, step = merge(tmp_path / "artifacts" / "nothing-here.json")
    assert step.returncode == 1 and outputs["exitcode"] == "1" and outputs["plan_path"] == ""
    assert "::error title=infrai apply%3A reviewed plan missing::the reviewed plan" in step.stderr
    assert "web" not in project_names(emu)

    outputs, _, step = merge(tmp_path / "artifacts" / "nothing-here.json", **{"on-missing-plan": "plan"})
    assert step.returncode == 0, step.stderr
    assert "::notice title=infrai-reconcile::the reviewed plan" in step.stderr and outputs["applied"] != "0"
    assert "web" in project_names(emu)


def test_an_auth_failure_on_merge_is_annotated(flow):
    pull_request, merge, emu, _ = flow
    outputs, _, step = merge(pull_request(), api_key="ifr_pk_proj_not-a-real-key")
    assert step.returncode == 1 and outputs["exitcode"] == "1"
    (error,) = [line for line in step.stderr.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=infrai apply%3A authentication::") and "HTTP 401" in error
    assert "web" not in project_names(emu)
