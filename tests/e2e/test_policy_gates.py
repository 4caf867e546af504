"""`--policy` (exit 3) and `--fail-on` (exit 4) through the CLI: every policy rule, located
errors in a malformed policy, and an apply stopped before any call (checked via the API);
plus the snapshot of a realistic plan's impacts in text and markdown."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from reconcile.config import load_config
from reconcile.workflow.engine import make_plan
from reconcile.errors import ConfigError
from reconcile.config.policy_file import load_policy, policy_from_data
from reconcile.plan.policy import check
from reconcile.render import plan_document, render_plan_markdown, render_plan_text

REPO = Path(__file__).parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def local(emulator):
    return ["--local", str(emulator.db)]


def write(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


BASE = {"version": 1, "budget": {"period": "monthly", "hard_cap_usd": 100},
        "projects": [{"name": "web", "keys": [{"name": "ci", "rotate_after": "30d"}]}]}


def test_each_rule_names_the_rule_the_resource_and_the_values(run_cli, workdir, local):
    cfg = write(workdir / "infrai.yaml", BASE)
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    changed = {**BASE, "budget": {"period": "monthly", "hard_cap_usd": 200},
               "projects": [{"name": "web", "keys": [{"name": "ci", "rotate_after": "30d"},
                                                     {"name": "deploy", "rotate_after": "365d"},
                                                     {"name": "bare"}]}],
               "webhooks": [{"url": "https://hooks.example.com/a", "events": ["budget.alert", "key.created"]}]}
    cfg = write(workdir / "infrai.yaml", changed)
    policy = write(workdir.parent / "policy.yaml", {"version": 1, "rules": {
        "forbid": {"projects": ["delete"]}, "max_budget_increase_percent": 50, "max_key_rotate_after_days": 90,
        "allowed_webhook_events": ["budget.alert"], "max_changes": 3}})
    result = run_cli("plan", cfg, *local, "--policy", policy, "--no-color")
    assert result.exit_code == 3
    assert "[max_changes] plan: 4 changes; the policy allows at most 3 in one apply" in result.stderr
    assert ("[max_budget_increase_percent] budget: hard_cap_usd $100.00 → $200.00 is +100.0%; "
            "the policy allows +50%") in result.stderr
    assert ("[max_key_rotate_after_days] projects.web.keys.deploy: rotate_after 365d is 365 days; "
            "the policy allows at most 90") in result.stderr
    assert "[max_key_rotate_after_days] projects.web.keys.bare: declares no rotate_after" in result.stderr
    assert ('[allowed_webhook_events] webhooks["https://hooks.example.com/a"]: subscribes to key.created; '
            "allowed: budget.alert") in result.stderr
    deleting = write(workdir / "infrai.yaml", {"version": 1, "prune": ["projects"], "projects": []})
    forbid = run_cli("plan", deleting, *local, "--policy", policy, "--no-color")
    assert forbid.exit_code == 3
    assert "[forbid] projects.web: delete of a project is forbidden by the policy" in forbid.stderr


def test_a_violation_stops_apply_before_any_call(run_cli, workdir, local, emulator):
    cfg = write(workdir / "infrai.yaml", {**BASE, "webhooks": [{"url": "https://hooks.example.com/a",
                                                                 "events": ["key.created"]}]})
    policy = str(REPO / "examples" / "policy" / "policy.yaml")
    before = len(emulator.api.list_all("/v1/account/projects/list"))
    result = run_cli("apply", cfg, *local, "--policy", policy, "--auto-approve", "--no-color")
    assert result.exit_code == 3 and "nothing was applied" in result.stderr
    assert len(emulator.api.list_all("/v1/account/projects/list")) == before
    assert emulator.api.get("/v1/account/budget/get")["hard_cap_usd"] is None
    assert emulator.items("/v1/account/webhooks/list") == []


def test_config_policy_section_is_enforced_too(run_cli, workdir, local):
    cfg = write(workdir / "infrai.yaml", {**BASE, "policy": {"rules": {"max_changes": 1}}})
    result = run_cli("plan", cfg, *local, "--no-color")
    assert result.exit_code == 3 and "the configuration's policy: section" in result.stderr


def test_fail_on_exit_codes_and_apply_stops_before_any_call(run_cli, workdir, local, emulator):
    top = emulator.post("/v1/account/topup", {"amount_usd": 100})
    emulator.post(f"/_emulator/checkout/{top['topup_id']}/complete")
    emulator.post("/_emulator/usage", {"capability": "chat.completions", "requests": 10, "spend_usd": 40})
    # A cap below what was already spent blocks calls whatever the day of the month: danger.
    cfg = write(workdir / "infrai.yaml", {"version": 1, "budget": {"period": "monthly", "hard_cap_usd": 30}})
    plan = run_cli("plan", cfg, *local, "--no-color", "--fail-on", "danger")
    assert plan.exit_code == 4 and "DANGER  budget: hard cap $30.00" in plan.stdout
    assert "1 impact at or above --fail-on danger" in plan.stderr
    assert run_cli("plan", cfg, *local, "--no-color").exit_code == 0
    applied = run_cli("apply", cfg, *local, "--auto-approve", "--fail-on", "warning")
    assert applied.exit_code == 4
    assert emulator.api.get("/v1/account/budget/get")["hard_cap_usd"] is None
    doc = json.loads(run_cli("plan", cfg, *local, "--format", "json").stdout)
    assert [(i["severity"], i["rule"]) for i in doc["impacts"]] == [("danger", "budget.hard_cap_reached")]


def test_malformed_policy_is_a_located_error(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nrules:\n  forbid:\n    projects: [destroy]\n  max_changes: many\n")
    with pytest.raises(ConfigError) as err:
        load_policy(str(path))
    # Every problem at once (the schema check does not stop at the first).
    assert str(err.value).splitlines() == [
        f"2 errors in the policy ({path}):",
        f"  {path}:4:16: rules.forbid.projects[0]: unknown action 'destroy'; "
        "use one of: create, update, replace, delete, rotate",
        f"  {path}:5:16: rules.max_changes: expected a whole number ≥ 0, got 'many'"]
    path.write_text("version: 1\nrules:\n  max_changez: 3\n")
    with pytest.raises(ConfigError, match=r"policy.yaml:3:3: rules.max_changez: unknown rule 'max_changez'"):
        load_policy(str(path))


def test_example_policy_loads_and_passes_a_small_plan():
    policy = load_policy(str(REPO / "examples" / "policy" / "policy.yaml"))
    assert policy.max_changes == 50 and policy.forbid["project"] == {"delete", "replace"}
    budget_cut = {"changes": [{"address": "budget", "kind": "budget", "action": "update",
                               "before": {"hard_cap_usd": 100}, "after": {"hard_cap_usd": 150}}]}
    assert check(policy, budget_cut) == []
    assert check(policy_from_data({"max_budget_increase_percent": 10}, "x"), budget_cut)[0].rule == \
        "max_budget_increase_percent"


def test_snapshot_of_a_realistic_plan_with_impacts(emulator, tmp_path):
    from test_impact import GIB, setup, spend

    setup(emulator)
    emulator.post("/v1/account/tier/upgrade", {"target_tier": "pro"})
    for day in (14, 15, 16):
        spend(emulator, f"2030-01-{day}T10:00:00Z", usd=50, requests=600)
    spend(emulator, "2030-01-15T14:10:00Z", requests=7200, bandwidth=15 * GIB)
    project = emulator.post("/v1/account/projects/create", {"name": "web"})
    emulator.api.request("PATCH", f"/v1/account/projects/update/{project['id']}", json={"rate_limit_rpm": 600})
    path = tmp_path / "infrai.yaml"
    write(path, {"version": 1, "tier": "standard",
                 "budget": {"period": "monthly", "hard_cap_usd": 200, "alert_threshold_usd": 200},
                 "autorecharge": {"enabled": True, "trigger_balance": 400, "recharge_amount": 50,
                                  "max_per_day": 2, "max_per_month": 10},
                 "projects": [{"name": "web", "rate_limit_rpm": 50}],
                 "bandwidth_alerts": [{"threshold": "10GiB"}]})
    plan = make_plan(emulator.api, load_config([str(path)])).plan
    # The citations name the config file, here under the test's temporary directory.
    text = render_plan_text(plan).replace(str(tmp_path), "<tmp>")
    markdown = re.sub(r"<sub>.*</sub>", "<sub>(digests)</sub>", render_plan_markdown(plan)).replace(str(tmp_path), "<tmp>")
    if os.environ.get("UPDATE_SNAPSHOTS"):  # regenerate deliberately, then review the diff
        (SNAPSHOTS / "impact_plan.txt").write_text(text)
        (SNAPSHOTS / "impact_plan.md").write_text(markdown)
    assert text == (SNAPSHOTS / "impact_plan.txt").read_text()
    assert markdown == (SNAPSHOTS / "impact_plan.md").read_text()
    # Each impact as the plan has it, plus where its change is declared.
    assert [{k: v for k, v in i.items() if k != "source"} for i in plan_document(plan)["impacts"]] == \
        [i.to_data() for i in plan.impacts]
    assert plan_document(plan)["impacts"][0]["source"]["file"] == str(path)
