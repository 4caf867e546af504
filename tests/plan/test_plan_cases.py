"""The planner, case by case, as data: one test per file under tests/plan_cases/<kind>/.

How a case is written and run: tests/plan/plan_case_driver.py. A case that fails shows a
unified diff of the expected and the actual plan; a malformed case file fails naming its
file:line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plan_case_driver import CASES, MalformedCase, case_files, leaked_secrets, load_case, mismatch, run_case


@pytest.mark.parametrize("path", case_files(), ids=lambda p: str(p.relative_to(CASES).with_suffix("")))
def test_plan_case(path: Path, tmp_path: Path) -> None:
    try:
        case = load_case(path)
    except MalformedCase as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:
        pytest.fail(f"malformed case file:\n{problem}", pytrace=False)
    outcome = run_case(case, tmp_path)
    assert not leaked_secrets(case, *outcome), "a secret of the case is shown in the plan"
    diff = mismatch(case, *outcome)
    if diff:
        pytest.fail(f"{case.name}: {case.data['description']}\n{diff}", pytrace=False)


def test_every_kind_has_cases() -> None:
    from reconcile.kinds import REGISTRY

    assert sorted({p.parent.name for p in case_files()}) == sorted(REGISTRY)


def test_a_malformed_case_is_refused_naming_file_and_line(tmp_path: Path, monkeypatch) -> None:
    import plan_case_driver

    monkeypatch.setattr(plan_case_driver, "CASES", tmp_path)
    (tmp_path / "project").mkdir()
    bad = tmp_path / "project" / "bad.yaml"
    bad.write_text("description: a typo in an expected change\nconfig: 'projects: []'\n"
                   "expect:\n  changes:\n    - address: projects.web\n      acton: create\n")
    with pytest.raises(MalformedCase) as told:
        load_case(bad)
    assert f"{bad}:5:" in str(told.value) and "'action' is a required property" in str(told.value)
    assert f"{bad}:6:" in str(told.value) and "'acton' was unexpected" in str(told.value)
    (tmp_path / "projects").mkdir()
    misfiled = tmp_path / "projects" / "x.yaml"
    misfiled.write_text("description: d\nconfig: ''\nexpect: {changes: []}\n")
    with pytest.raises(MalformedCase, match=r"x.yaml:1: filed under 'projects', which is not a kind"):
        load_case(misfiled)


def test_a_wrong_expectation_fails_with_a_diff_of_the_plans(tmp_path: Path) -> None:
    from plan_case_driver import Case

    case = Case(CASES / "project" / "inline.yaml", {
        "description": "d", "config": "projects: [{name: web, scopes: [keys:write]}]\n",
        "expect": {"changes": [{"address": "projects.web", "action": "update"}]}})
    diff = mismatch(case, *run_case(case, tmp_path))
    assert diff is not None
    assert "-  action: update\n+  action: create" in diff
