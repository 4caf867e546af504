"""Plan/apply behaviour end to end through the CLI against the emulator (in-process)."""

from pathlib import Path

import pytest

from reconcile.workflow.planfile import load_plan

BASE = """
projects:
  - name: web
    scopes: [account:read, keys:write]
    keys:
      - name: ci
        scopes: [account:read]
webhooks:
  - url: https://hooks.example.com/a
    events: [key.rotated]
"""


def write(d: Path, text: str, name: str = "infrai.yaml") -> str:
    (d / name).write_text(text)
    return str(d)


@pytest.fixture
def local(emulator):
    return ["--local", str(emulator.db)]


@pytest.fixture(params=["in-process", "http"])
def account(request, emulator, tmp_path):
    """(CLI args, env, emulator): the same tests in process (`--local`) and over real HTTP."""
    if request.param == "in-process":
        yield ["--local", str(emulator.db)], {}, emulator
        return
    url, key, served = request.getfixturevalue("http_emulator")
    yield [], {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}, served


def test_changing_the_yaml_plans_exactly_that_change(run_cli, workdir, account):
    args, env, _ = account
    cfg = write(workdir, BASE)
    assert run_cli("apply", cfg, *args, "--auto-approve", env=env).exit_code == 0
    write(workdir, BASE.replace("scopes: [account:read]\n", "scopes: [account:read, keys:write]\n"))
    plan = run_cli("plan", cfg, *args, "--detailed-exitcode", "--no-color", env=env)
    assert plan.exit_code == 2
    assert "~ projects.web.keys.ci  update" in plan.stdout
    assert "scopes : + keys:write   (line " in plan.stdout  # a list diffs per element
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in plan.stdout


def test_drift_behind_the_tools_back_is_shown_and_fixed(run_cli, workdir, account):
    args, env, emulator = account
    cfg = write(workdir, BASE)
    assert run_cli("apply", cfg, *args, "--auto-approve", env=env).exit_code == 0
    hook = emulator.items("/v1/account/webhooks/list")[0]
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"events": ["key.revoked"]})
    drift = run_cli("plan", cfg, *args, "--detailed-exitcode", "--no-color", env=env)
    assert drift.exit_code == 2
    assert "events : + key.rotated, − key.revoked   (line " in drift.stdout
    assert run_cli("apply", cfg, *args, "--auto-approve", env=env).exit_code == 0
    assert emulator.items("/v1/account/webhooks/list")[0]["events"] == ["key.rotated"]
    assert run_cli("plan", cfg, *args, "--detailed-exitcode", env=env).exit_code == 0


def test_prune_off_leaves_undeclared_objects_and_prune_on_deletes_them(run_cli, workdir, local, emulator):
    cfg = write(workdir, BASE)
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    emulator.post("/v1/account/projects/create", {"name": "hand-made"})
    kept = run_cli("plan", cfg, *local, "--no-color")
    # Left alone, and drift: the config declares projects (docs/gitops.md#drift).
    assert "projects.hand-made  (not declared among the config's projects)" in kept.stdout
    assert "No changes to make, but the account has drift" in kept.stdout
    pruned = run_cli("apply", cfg, *local, "--prune", "projects", "--auto-approve", "--no-color")
    assert pruned.exit_code == 0, pruned.output
    assert "- projects.hand-made  delete" in pruned.stdout
    names = {p["name"] for p in emulator.items("/v1/account/projects/list")}
    assert names == {"default", "web"}  # the tool's own project is never pruned


def test_safety_threshold_refuses_mass_delete_until_force(run_cli, workdir, local, emulator):
    for i in range(12):
        emulator.post("/v1/account/projects/create", {"name": f"old-{i}"})
    cfg = write(workdir, "projects:\n  - name: default\n")
    refused = run_cli("apply", cfg, *local, "--prune", "projects", "--auto-approve")
    assert refused.exit_code == 1
    assert "deletes 12 of 13 projects (92%, more than 25%)" in refused.stderr and "--force" in refused.stderr
    assert len(emulator.items("/v1/account/projects/list")) == 13  # nothing was deleted
    forced = run_cli("apply", cfg, *local, "--prune", "projects", "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert [p["name"] for p in emulator.items("/v1/account/projects/list")] == ["default"]


def test_protect_fails_any_plan_that_destroys_the_resource(run_cli, workdir, local):
    cfg = write(workdir, "members:\n  - {email: a@example.com, role: viewer, protect: true}\n")
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    write(workdir, "members:\n  - {email: a@example.com, role: admin, protect: true}\n")
    for command in ("plan", "apply"):
        result = run_cli(command, cfg, *local, "--auto-approve") if command == "apply" else run_cli(command, cfg, *local)
        assert result.exit_code == 1
        assert 'protected resources: members["a@example.com"] (replace)' in result.stderr


def test_apply_refuses_to_prompt_without_a_terminal(run_cli, workdir, local, emulator):
    cfg = write(workdir, BASE)
    result = run_cli("apply", cfg, *local, input="yes\n")
    assert result.exit_code == 1
    assert "standard input is not a terminal" in result.stderr
    assert [p["name"] for p in emulator.items("/v1/account/projects/list")] == ["default"]


def test_validation_errors_are_located_and_exit_1(run_cli, workdir):
    cfg = write(workdir, "projects:\n  - name: web\n    scopes: [account:raed]\n")
    result = run_cli("validate", cfg)
    assert result.exit_code == 1
    assert "infrai.yaml:3:" in result.stderr and "projects[0].scopes[0]" in result.stderr
    assert "Traceback" not in result.output


def test_saved_plan_applies_exactly_once_and_refuses_when_stale(run_cli, workdir, local, emulator, tmp_path):
    cfg = write(workdir, BASE)
    planfile = str(tmp_path / "plan.json")
    assert run_cli("plan", cfg, *local, "--out", planfile).exit_code == 0
    assert load_plan(planfile).plan.counts()["create"] == 3
    first = run_cli("apply", planfile, *local, "--auto-approve")
    assert first.exit_code == 0, first.output
    second = run_cli("apply", planfile, *local, "--auto-approve")
    assert second.exit_code == 0, second.output
    assert "already applied" in second.stderr
    assert len(emulator.items("/v1/account/projects/list")) == 2  # no duplicate
    # A plan whose target changed since is refused and names the change.
    write(workdir, BASE.replace("[key.rotated]", "[key.revoked]"))
    assert run_cli("plan", cfg, *local, "--out", planfile).exit_code == 0
    hook = emulator.items("/v1/account/webhooks/list")[0]
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"description": "edited"})
    stale = run_cli("apply", planfile, *local, "--auto-approve")
    assert stale.exit_code == 1
    assert "plan is stale" in stale.stderr and "description" in stale.stderr


def test_replacing_a_project_with_keys_is_refused_not_silently_cascaded(run_cli, workdir, local, emulator):
    cfg = write(workdir, BASE)
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    result = run_cli("apply", cfg, *local, "--replace", "projects.web", "--auto-approve")
    assert result.exit_code == 1
    assert "projects.web has 1 API key(s) (projects.web.keys.ci) that the API would delete with it" in result.stderr
    assert [k["name"] for k in emulator.items("/v1/account/keys/list") if k["name"] == "ci"] == ["ci"]
