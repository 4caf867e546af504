"""The GitHub Action: action.yml's `run:` steps executed locally with bash and a fake runner
environment (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ACTIONS=true), workflow-command
escaping and annotations, and the size caps on a 5,000-change plan."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from ci_support import ACTION, INPUT_REF, REPO, RUN_STEP, read_outputs, run_steps
from plan_builders import desired, live, want

from reconcile.cli.ci.action import OUTPUTS, ActionInputs, CliRun, failure_annotation, run_action, split_plan_args
from reconcile.cli.ci.github import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    append_summary,
    comment_body,
    escape_data,
    escape_property,
    write_outputs,
)
from reconcile.cli.gitops import write_step_summary
from reconcile.cli.main import cli
from reconcile.plan import build_plan



@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo").mkdir()
    shutil.copytree(REPO / "examples" / "quickstart", tmp_path / "repo" / "infra")
    return tmp_path


def test_action_yml_declares_exactly_the_outputs_the_step_writes(repo: Path):
    run_id = [s for s in ACTION["runs"]["steps"] if s.get("id") == "run"]
    assert run_id and ACTION["runs"]["using"] == "composite"
    declared = set(ACTION["outputs"])
    for name in declared:
        assert ACTION["outputs"][name]["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    assert declared == set(OUTPUTS)
    # What the step really writes, over a pull request's plan and a merge's apply.
    event = repo / "event.json"
    event.write_text('{"pull_request": {"number": 1}}')
    written: set[str] = set()
    base = {"paths": "infra", "local": "true", "name": "staging"}
    for inputs in ({"command": "plan"}, {"command": "apply", "args": "--secrets-out ../s.json"}):
        (repo / "github_output").unlink(missing_ok=True)
        outputs, _, (step,) = run_steps(repo, {**base, **inputs}, only=RUN_STEP,
                                        extra_env={"GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "o/r"})
        assert step.returncode == 0, step.stderr
        written |= set(outputs)
    assert written == declared, f"written, not declared: {written - declared}; declared, never written: " \
                                f"{declared - written}"
    for name in ("command", "paths", "endpoint", "parallelism", "args", "name", "local", "version", "plan-file",
                 "on-missing-plan", "comment", "destroy-label", "github-token"):
        assert name in ACTION["inputs"]
    # Inputs reach scripts through env only: nothing user-controlled is pasted into bash.
    assert not any(INPUT_REF.search(s.get("run", "")) for s in ACTION["runs"]["steps"])
    # Every input the action declares reaches the step (no input silently ignored).
    passed = {m.group(1) for s in ACTION["runs"]["steps"] for v in (s.get("env") or {}).values()
              for m in INPUT_REF.finditer(str(v))} | {m.group(1) for s in ACTION["runs"]["steps"]
                                                       for m in INPUT_REF.finditer(str(s.get("with", "")) + str(s.get("if", "")))}
    assert passed == set(ACTION["inputs"])


def test_an_undeclared_output_is_a_programming_error(tmp_path: Path):
    from reconcile.cli.ci.action import _Step

    with pytest.raises(ValueError, match="undeclared action outputs"):
        _Step({"GITHUB_OUTPUT": str(tmp_path / "out")}).outputs({"has_change": True})


def test_install_step_installs_the_checkout_or_the_given_version(repo: Path):
    fake = repo / "fakebin"
    fake.mkdir()
    log = repo / "pip.log"
    (fake / "python").write_text(f'#!/usr/bin/env bash\necho "$@" >> {log}\n')
    (fake / "python").chmod(0o755)
    run_steps(repo, {}, only="Install infrai-reconcile", path_first=fake)
    run_steps(repo, {"version": "0.1.0"}, only="Install infrai-reconcile", path_first=fake)
    first, second = log.read_text().splitlines()
    assert first.endswith(f"pip install --disable-pip-version-check {REPO}")
    assert second.endswith("pip install --disable-pip-version-check infrai-reconcile==0.1.0")


def test_plan_then_apply_then_no_changes_through_the_action(repo: Path):
    base = {"paths": "infra", "local": "true", "name": "staging", "python-version": ""}
    outputs, summary, (step,) = run_steps(repo, {**base, "command": "plan"}, only=RUN_STEP)
    assert step.returncode == 0, step.stderr
    assert outputs["has_changes"] == "true" and outputs["exitcode"] == "2"
    assert int(outputs["create"]) > 0 and outputs["delete"] == "0" and outputs["replace"] == "0"
    assert Path(outputs["plan_path"]).is_file()
    body = Path(outputs["comment_path"]).read_text()
    assert body.startswith("<!-- infrai-reconcile:plan:staging -->\n### Infrai plan: staging")
    assert "\x1b[" not in body and "\x1b[" not in summary.read_text()
    assert "| create | update |" in summary.read_text()

    outputs, _, (step,) = run_steps(repo, {**base, "command": "apply", "args": "--secrets-out ../secrets.json"},
                                    only=RUN_STEP)
    assert step.returncode == 0, step.stderr
    assert outputs["exitcode"] == "0"
    assert (repo / "secrets.json").is_file()

    outputs, _, (step,) = run_steps(repo, {**base, "command": "plan"}, only=RUN_STEP)
    assert outputs["has_changes"] == "false" and outputs["exitcode"] == "0" and outputs["create"] == "0"


def test_validate_with_errors_fails_the_step_with_annotations(repo: Path):
    (repo / "repo" / "infra" / "infrai.yaml").write_text("projects:\n  - name: 5\n")
    outputs, summary, (step,) = run_steps(repo, {"command": "validate", "paths": "infra"},
                                          only=RUN_STEP)
    assert step.returncode == 1 and outputs["exitcode"] == "1"
    assert "::error file=infra/infrai.yaml,line=2,col=11,title=infrai config%3A projects[0].name::" in step.stderr
    assert "| infra/infrai.yaml | 2 | 11 | projects[0].name |" in summary.read_text()


def test_apply_sends_plan_shaping_args_to_plan_and_the_rest_to_apply(tmp_path: Path):
    assert split_plan_args(["--prune", "keys", "--force", "--target=projects.web", "--secrets-out", "s.env"]) == (
        ["--prune", "keys", "--target=projects.web"], ["--force", "--secrets-out", "s.env"])
    calls: list[list[str]] = []

    def runner(argv: list[str], env) -> CliRun:
        calls.append(argv)
        return CliRun(1)  # the plan fails: apply must not run, outputs say so

    out = tmp_path / "out"
    code = run_action(ActionInputs("apply", "infra", args="--prune keys --force"), {"GITHUB_OUTPUT": str(out),
                                                                                   "RUNNER_TEMP": str(tmp_path)}, runner)
    assert code == 1 and len(calls) == 1 and calls[0][:2] == ["plan", "infra"]
    assert "--prune" in calls[0] and "--force" not in calls[0]
    assert read_outputs(out)["exitcode"] == "1"


def _saved_plan(tmp_path: Path, changes: bool = True) -> Path:
    """A real saved plan file (one project to create, or nothing), written by `plan --out`."""
    config = tmp_path / "cfg.yaml"
    config.write_text("version: 1\nprojects:\n  - name: web\n" if changes else "version: 1\n")
    saved = tmp_path / "saved.json"
    result = CliRunner().invoke(cli, ["plan", str(config), "--local", str(tmp_path / "saved.db"), "--out", str(saved)])
    assert result.exit_code == 0, result.output
    return saved


@pytest.mark.parametrize("apply_code", [1, 3, 4, 130])
def test_a_failed_apply_fails_the_step_with_its_own_code(tmp_path: Path, apply_code: int):
    saved = _saved_plan(tmp_path)
    calls: list[list[str]] = []

    def runner(argv: list[str], env) -> CliRun:
        calls.append(argv)
        if argv[0] == "plan":
            Path(argv[argv.index("--out") + 1]).write_bytes(saved.read_bytes())
            return CliRun(2)
        return CliRun(apply_code)

    out = tmp_path / "out"
    code = run_action(ActionInputs("apply", "infra"), {"GITHUB_OUTPUT": str(out), "RUNNER_TEMP": str(tmp_path)}, runner)
    assert [c[0] for c in calls] == ["plan", "apply"]
    assert code == apply_code and read_outputs(out)["exitcode"] == str(apply_code)


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("plan_code", [1, 3, 4, 130])
def test_a_failed_plan_fails_the_step_and_never_applies_a_stale_plan_file(tmp_path: Path, monkeypatch,
                                                                          command: str, plan_code: int):
    # RUNNER_TEMP unset: the plan file goes to the working directory, where an earlier run
    # left one; `plan` exits 3 (policy) or 4 (--fail-on) without writing a new one.
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / "infrai-plan-default.json"
    stale.write_bytes(_saved_plan(tmp_path).read_bytes())
    calls: list[list[str]] = []

    def runner(argv: list[str], env) -> CliRun:
        calls.append(argv)
        return CliRun(plan_code)

    out = tmp_path / "out"
    code = run_action(ActionInputs(command, "infra"), {"GITHUB_OUTPUT": str(out)}, runner)
    assert code == plan_code and [c[0] for c in calls] == ["plan"]
    assert not stale.exists()
    assert read_outputs(out)["exitcode"] == str(plan_code) and read_outputs(out)["plan_path"] == ""


@pytest.mark.parametrize("plan_code,changes", [(0, False), (2, True)])
def test_a_plan_with_or_without_changes_is_a_success(tmp_path: Path, plan_code: int, changes: bool):
    saved = _saved_plan(tmp_path, changes)

    def runner(argv: list[str], env) -> CliRun:
        Path(argv[argv.index("--out") + 1]).write_bytes(saved.read_bytes())
        return CliRun(plan_code)

    out = tmp_path / "out"
    assert run_action(ActionInputs("plan", "infra"), {"GITHUB_OUTPUT": str(out), "RUNNER_TEMP": str(tmp_path)},
                      runner) == 0
    assert read_outputs(out)["exitcode"] == str(plan_code)
    assert read_outputs(out)["has_changes"] == str(changes).lower()


# -- workflow commands ----------------------------------------------------------------
def test_escaping_follows_githubs_rules():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_config_errors_are_annotated_at_most_ten_with_the_full_list_in_the_summary(tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("projects:\n" + "".join(f"  - name: {i}\n" for i in range(12)))
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    for command in (["validate"], ["plan", "--local", str(tmp_path / "db")]):
        summary.write_text("")
        result = CliRunner().invoke(cli, [command[0], "bad.yaml", *command[1:]], env=env)
        assert result.exit_code == 1
        errors = [line for line in result.stderr.splitlines() if line.startswith("::error ")]
        assert "::error" not in result.stdout  # stdout carries only the result (JSON, Code Quality…)
        assert len(errors) == 11 and errors[-1].endswith("::2 more configuration error(s): see the job summary "
                                                         "for the full list")
        assert errors[0] == ("::error file=bad.yaml,line=2,col=11,title=infrai config%3A projects[0].name"
                             "::name must be a string, not an integer ('0')")
        assert summary.read_text().count("| bad.yaml |") == 12
    quiet = CliRunner().invoke(cli, ["validate", "bad.yaml"], env={"GITHUB_ACTIONS": None})
    assert "::error" not in quiet.output


# -- size caps --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def huge_plan():
    d = desired(*[want("project", name=f"project-{i:04d}", metadata={"team": "platform", "cost_centre": f"cc-{i}"},
                       rate_limit_rpm=600) for i in range(5000)])
    plan = build_plan(d, live())
    assert len(plan.changes) == 5000
    return plan


def test_comment_body_of_5000_changes_fits_and_says_what_was_cut(huge_plan):
    body = comment_body(huge_plan, "production")
    assert len(body) <= COMMENT_LIMIT
    assert body.startswith("<!-- infrai-reconcile:plan:production -->")
    assert "**Plan: 5000 to create, 0 to update, 0 to replace, 0 to delete.**" in body  # the summary survives
    assert re.search(r"\d+ more (changes|lines) not shown", body)


def test_step_summary_of_5000_changes_stays_under_one_mebibyte(huge_plan, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_step_summary(huge_plan, None)
    assert 0 < summary.stat().st_size < 1024 * 1024
    append_summary(summary, "x" * (2 * SUMMARY_LIMIT))  # a later writer cannot push it over
    assert summary.stat().st_size <= SUMMARY_LIMIT


def test_outputs_file_uses_a_heredoc_for_multiline_values(tmp_path: Path):
    out = tmp_path / "out"
    write_outputs(out, {"has_changes": True, "create": 3, "text": "a\nb"})
    assert read_outputs(out) == {"has_changes": "true", "create": "3", "text": "a\nb"}


# -- destructive changes are never trimmed away -------------------------------------------
def test_comment_lists_every_delete_before_the_trimmed_details():
    from plan_builders import project

    gone = [project(f"p-{i}", f"old-project-{i:03d}") for i in range(300)]
    d = desired(*[want("project", name=f"new-project-{i:04d}", metadata={"team": "platform", "cost_centre": f"cc-{i}"})
                  for i in range(5000)], prune={"project"})
    plan = build_plan(d, live(*gone))
    body = comment_body(plan, "production")
    assert len(body) <= COMMENT_LIMIT
    banner = body.index("⚠️ **This plan deletes/replaces 300 resources** (300 to delete, 0 to replace)")
    details = body.index("<details>")
    assert banner < body.index("| create | update |") < details
    for i in range(300):
        assert body.index(f"- **delete** `projects.old-project-{i:03d}`") < details
    assert re.search(r"\d+ more changes not shown", body)  # the creates were trimmed, the deletes were not


def test_a_plan_too_destructive_for_one_comment_still_counts_every_one():
    from plan_builders import project

    plan = build_plan(desired(prune={"project"}), live(*[project(f"p-{i}", f"gone-{i:05d}-" + "x" * 60)
                                                          for i in range(3000)]))
    body = comment_body(plan, "production")
    assert len(body) <= COMMENT_LIMIT
    assert "⚠️ **This plan deletes/replaces 3000 resources**" in body
    listed = body.count("- **delete** `projects.gone-")
    assert 0 < listed < 3000 and f"- … and {3000 - listed} more deleted or replaced" in body


def test_a_plan_without_deletes_has_no_banner(huge_plan):
    assert "This plan deletes" not in comment_body(huge_plan, "production")


@pytest.mark.parametrize("run,title", [
    (CliRun(3, error="policy deny-delete: projects.web may not be deleted"), "infrai apply%3A policy violation"),
    (CliRun(4, error="impact danger at or above --fail-on"), "infrai apply%3A --fail-on gate (an impact%2C a failing check or a status finding)"),
    (CliRun(4, error="check failed: routing ai.chat selects openai, expected anthropic"),
     "infrai apply%3A --fail-on gate (an impact%2C a failing check or a status finding)"),
    (CliRun(130, error="interrupted"), "infrai apply%3A interrupted"),
    (CliRun(1, error="plan is stale: the account changed since it was planned:\n  projects.web"),
     "infrai apply%3A stale plan"),
    (CliRun(1, error="could not reach http://127.0.0.1:1/v1/account/tier: connection refused"), "infrai apply%3A API error"),
    (CliRun(1), "infrai apply%3A failed"),
])
def test_failures_are_annotated_with_what_failed(run: CliRun, title: str):
    line = failure_annotation("apply", run)
    assert line.startswith(f"::error title={title}::") and "\n" not in line
    assert (run.error or "exited with 1").split("\n")[0] in line.replace("%0A", "\n")


def test_deletes_replaces_and_loud_impacts_become_warnings_at_most_ten_each():
    from reconcile.cli.ci.github import plan_annotations

    doc = {"changes": [{"address": f"projects.p{i}", "action": "delete", "reasons": ["not declared"]}
                       for i in range(12)] + [{"address": "projects.web", "action": "update"},
                                              {"address": "projects.api", "action": "replace"}],
           "impacts": [{"severity": "danger", "address": "budget", "rule": "cap", "message": "caps 100% of spend"},
                       {"severity": "info", "address": "projects.web", "rule": "x", "message": "fyi"}]}
    lines = plan_annotations(doc)
    assert all(line.startswith("::warning title=") for line in lines)
    assert lines[0] == "::warning title=infrai plan%3A delete::projects.p0 will be deleted (not declared)"
    assert sum("will be" in line for line in lines) == 10  # 13 destructive: 10, then a count
    assert "::3 more deleted or replaced resource(s): see the job summary" in lines[10]
    assert lines[-1] == "::warning title=infrai impact%3A danger::budget: caps 100%25 of spend"
    assert not any("fyi" in line for line in lines) and not any("projects.web" in line for line in lines)
