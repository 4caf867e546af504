"""The GitHub Actions examples parse, and every `reconcile` command and flag they use exists."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from e2e_support import EXAMPLES

WORKFLOWS = sorted((EXAMPLES / "ci").glob("*.yml"))


def commands(workflow: dict) -> list[list[str]]:
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "infrai-reconcile@" in str(step.get("uses", "")):  # the action: its command and args
                found.append(["reconcile", step["with"]["command"], *shlex.split(str(step["with"].get("args", "")))])
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if line.startswith("reconcile "):
                    found.append(shlex.split(line.split(">")[0]))
    return found


def test_the_three_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"plan-pr.yml", "apply-merge.yml", "drift-nightly.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_uses_only_existing_commands_and_flags(path, run_cli):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["jobs"] and commands(workflow)
    for argv in commands(workflow):
        sub = [a for a in argv[1:3] if not a.startswith("-")][:1]
        help_ = run_cli(*sub, "--help")
        assert help_.exit_code == 0, argv
        for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
            assert re.search(rf"{re.escape(flag)}\b", help_.stdout), f"{path.name}: {flag} not in reconcile {sub[0]} --help"


def test_apply_is_serialised_and_never_cancelled():
    workflow = yaml.safe_load((EXAMPLES / "ci" / "apply-merge.yml").read_text())
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_fork_prs_plan_locally_without_secrets():
    workflow = yaml.safe_load((EXAMPLES / "ci" / "plan-pr.yml").read_text())
    fork = [s for s in workflow["jobs"]["plan"]["steps"] if "!= github.repository" in str(s.get("if", ""))]
    assert fork and ("--local" in fork[0].get("run", "") or fork[0].get("with", {}).get("local") is True)
    assert "secrets." not in str(fork[0])


def test_nightly_drift_uses_detailed_exitcode():
    text = (EXAMPLES / "ci" / "drift-nightly.yml").read_text()
    assert "--detailed-exitcode" in text and "exitcode == '2'" in text
