"""The pull-request plan: a snapshot of a realistic plan, truncation of a 5,000-change plan
(pure planner, no API), and the GitHub Actions step summary."""

from __future__ import annotations

import os
import re

from e2e_support import EXAMPLES, REPO
from reconcile.plan import PlanOptions, build_plan
from reconcile.render import render_plan_markdown
from reconcile.resources import DesiredResource, DesiredState, LiveState

SNAPSHOT = REPO / "tests" / "gitops" / "snapshots" / "production_drift.md"
GITHUB_COMMENT_LIMIT = 65_536


def normalise(markdown: str) -> str:
    """Digests and fingerprints change with every account, times (a check's last delivery)
    with every run: replace them."""
    markdown = re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", "<time>", markdown)
    return re.sub(r"\b[0-9a-f]{12,64}\b", "<digest>", markdown)


def test_markdown_snapshot_of_a_realistic_plan(run_cli, emulator, workdir):
    local = ("--local", str(emulator.db))
    assert run_cli("apply", str(EXAMPLES / "production"), *local, "--auto-approve").exit_code == 0
    for f in (EXAMPLES / "production").glob("*.yaml"):
        (workdir / f.name).write_text(f.read_text())
    people = workdir / "people.yaml"
    people.write_text(people.read_text().replace("role: developer", "role: viewer"))
    projects = workdir / "projects.yaml"
    projects.write_text(projects.read_text().replace("rate_limit_rpm: 1200", "rate_limit_rpm: 2400")
                        + "  - name: search\n    keys:\n      - name: indexer\n")
    hook = next(h for h in emulator.items("/v1/account/webhooks/list") if "security" in h["url"])
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"description": "edited by hand"})
    # Relative to the working directory, so the snapshot cites `config/projects.yaml:17`.
    result = run_cli("plan", workdir.name, *local, "--format", "markdown", "--prune", "projects")
    assert result.exit_code == 0, result.output
    got = normalise(result.stdout)
    if os.environ.get("UPDATE_SNAPSHOTS"):  # regenerate deliberately, then review the diff
        SNAPSHOT.write_text(got)
    assert got == SNAPSHOT.read_text()
    assert "<details>" in got and "| create | update |" in got


def big_plan(n: int = 5000):
    resources = {}
    for i in range(n):
        r = DesiredResource("project", (f"p{i:05d}",), {"name": f"p{i:05d}", "metadata": {"team": "t" * 40}})
        resources[r.address] = r
    return build_plan(DesiredState(resources), LiveState(kinds_read={"project"}), PlanOptions())


def test_a_5000_change_plan_is_truncated_at_whole_changes_with_a_count():
    plan = big_plan()
    full = render_plan_markdown(plan, limit=10**9)
    short = render_plan_markdown(plan)
    assert len(short) < GITHUB_COMMENT_LIMIT < len(full)
    full_lines = set(full.splitlines())
    kept = [line for line in short.splitlines() if line.startswith("+ ")]
    assert kept and all(line in full_lines for line in kept)  # never cut mid-line
    shown = sum(1 for line in kept if line.startswith("+ + "))
    assert f"… {5000 - shown} more changes not shown" in short
    assert short.count("```") == 2 and short.count("<details>") == short.count("</details>") == 1
    assert "**Plan: 5000 to create, 0 to update, 0 to replace, 0 to delete.**" in short


def test_plan_appends_the_summary_under_github_actions(run_cli, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli("plan", str(EXAMPLES / "quickstart"), "--local", str(tmp_path / "a.db"), env=env)
    assert result.exit_code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "### Infrai plan" in text and "+ + projects.web" in text
    assert len(text.encode()) < 1024 * 1024
    without = tmp_path / "none.md"
    run_cli("plan", str(EXAMPLES / "quickstart"), "--local", str(tmp_path / "a.db"),
            env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": str(without)})
    assert not without.exists()

