"""The example workflows and action.yml pass actionlint and zizmor (offline), and every
third-party action is pinned to a full commit SHA with its version in a comment, as
GitHub's security hardening guide asks. Both linters come with the `test` extra; without
them the linter tests skip, saying how to install them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ci_support import ACTION, REPO

WORKFLOWS = sorted((REPO / "examples" / "ci").glob("*.yml"))
OWN_ACTION = "infrai/infrai-reconcile@"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$")


def tool(name: str) -> str:
    """The linter from this interpreter's environment (the `test` extra), else PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed: pip install -e '.[test]' brings it")
    return found


def uses_lines() -> list[tuple[str, str]]:
    lines = []
    for path in [*WORKFLOWS, REPO / "action.yml"]:
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if m:
                lines.append((f"{path.name}: {line.strip()}", m.group(1) + m.group(2)))
    return lines


def test_every_third_party_action_is_pinned_to_a_sha_with_its_version():
    found = uses_lines()
    assert len(found) >= 10
    for where, ref in found:
        if ref.startswith(OWN_ACTION):
            # This action itself: the user pins the release they vet (the comment says so).
            assert "pin the release's commit SHA" in ref, where
            continue
        assert PINNED.match(ref.split()[0]), f"not pinned to a full commit SHA: {where}"
        assert VERSION_COMMENT.search(ref), f"no `# vX.Y.Z` comment: {where}"


def test_checkouts_do_not_persist_credentials_and_jobs_have_least_privilege():
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, f"{path.name}: no default permissions at the top"
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{path.name}: job {name} states its permissions"
            assert "write-all" not in str(job["permissions"])
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path.name}: {step}"
                # Template values reach shell through env, never pasted into the script.
                assert "${{" not in str(step.get("run", "")), f"{path.name}: template in run: {step}"


def _lint_repo(tmp_path: Path) -> Path:
    """A git work tree with the examples as its workflows and this action at its root, the
    examples' `uses: infrai/infrai-reconcile@…` pointed at it (`./`), so actionlint checks
    every input and output the examples use against action.yml."""
    root = tmp_path / "lint"
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / "action.yml", root / "action.yml")
    for path in WORKFLOWS:
        text = re.sub(r"infrai/infrai-reconcile@\S+", "./", path.read_text())
        (root / ".github" / "workflows" / path.name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    return root


def test_actionlint_passes_on_the_example_workflows(tmp_path: Path):
    actionlint = tool("actionlint")
    root = _lint_repo(tmp_path)
    result = subprocess.run([actionlint, "-no-color", "-shellcheck=", "-pyflakes="], cwd=root, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # It does read action.yml: an input the action does not declare is an error.
    bad = root / ".github" / "workflows" / "bad.yml"
    bad.write_text("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: ./\n        with:\n          no-such-input: x\n")
    result = subprocess.run([actionlint, "-no-color", str(bad)], cwd=root, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 1 and 'input "no-such-input" is not defined' in result.stdout


def test_zizmor_passes_on_the_example_workflows_and_the_action():
    zizmor = tool("zizmor")
    result = subprocess.run([zizmor, "--offline", "--no-progress", "--color=never", *map(str, WORKFLOWS),
                             str(REPO / "action.yml")], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr
    assert ACTION["runs"]["using"] == "composite"
