"""GitOps commands end to end against the emulator: export round trip, targeting, rotation
policy on the emulator's clock, reporting a leaked key, environments, and the DOT graph."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from e2e_support import EXAMPLES

SECRET = "round-trip-signing-secret"


@pytest.fixture
def local(emulator) -> tuple[str, str]:
    return ("--local", str(emulator.db))


# -- export ----------------------------------------------------------------------------------
def test_export_round_trip_of_every_example_plus_drift(run_cli, emulator, local, tmp_path):
    env = {"OPS_WEBHOOK_SECRET": SECRET}
    for example in ("production", "quickstart", "ci-drift"):
        # Later examples redefine singletons (budget): apply each in turn, the account keeps the union.
        applied = run_cli("apply", str(EXAMPLES / example), *local, "--auto-approve", "--secrets-out",
                          str(tmp_path / "s.env"), env=env)
        assert applied.exit_code == 0, applied.output
    hook = emulator.items("/v1/account/webhooks/list")[0]
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"description": "drifted"})
    emulator.post("/v1/account/projects/create", {"name": "made-by-hand"})

    out_dir = tmp_path / "export"
    exported = run_cli("export", *local, "-o", str(out_dir) + "/")
    assert exported.exit_code == 0, exported.output
    files = {p.name for p in out_dir.glob("*.yaml")}
    assert {"projects.yaml", "webhooks.yaml", "budget.yaml", "tier.yaml", "bandwidth_alerts.yaml"} <= files
    text = (out_dir / "projects.yaml").read_text()
    assert "- name: bootstrap  # the API key this tool is calling with" in text
    assert "threshold: 10GiB" in (out_dir / "bandwidth_alerts.yaml").read_text()
    hooks = (out_dir / "webhooks.yaml").read_text()
    # Write-only secrets are never diffed: exported as a commented-out line naming the variable,
    # so the export plans as it is, with no variable set.
    placeholders = set(re.findall(r"^ *# secret: \$\{env:([A-Z0-9_]+)\}  # write-only", hooks, re.M))
    assert placeholders and "uncomment and set the variable to manage it" in hooks
    assert not re.search(r"^ *secret:", hooks, re.M)
    assert all(name in exported.stderr for name in placeholders)
    assert run_cli("validate", str(out_dir)).exit_code == 0
    again = run_cli("plan", str(out_dir), *local, "--detailed-exitcode", "--prune")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    # Uncommented, the line names the variable --secrets-out writes a generated secret under;
    # set, the plan is still empty (the secret is never read back, so never diffed).
    (out_dir / "webhooks.yaml").write_text(re.sub(r"# (secret: \S+)  # .*", r"\1", hooks))
    plan_env = {name: SECRET for name in placeholders}
    assert run_cli("plan", str(out_dir), *local, "--detailed-exitcode", "--prune", env=plan_env).exit_code == 0

    single = tmp_path / "all.yaml"
    assert run_cli("export", *local, "-o", str(single)).exit_code == 0
    assert run_cli("plan", str(single), *local, "--detailed-exitcode").exit_code == 0
    stdout = run_cli("export", *local, "--kinds", "keys")
    doc = yaml.safe_load(stdout.stdout)
    assert set(doc) == {"version", "projects"} and all(set(p) <= {"name", "keys"} for p in doc["projects"])


def test_export_of_a_fresh_account_plans_with_no_changes(run_cli, local, tmp_path):
    # A fresh account's auto-recharge is off with recharge_amount 0, below the config's minimum
    # of 5: the field is written commented out with the reason, so the export validates.
    assert run_cli("export", *local, "-o", "exp.yaml").exit_code == 0
    text = (tmp_path / "exp.yaml").read_text()
    assert re.search(r"^  # recharge_amount: 0  # the config cannot declare it \(.*minimum of 5\)", text, re.M)
    assert "recharge_amount" not in yaml.safe_load(text)["autorecharge"]
    assert run_cli("validate", "exp.yaml").exit_code == 0
    again = run_cli("plan", "exp.yaml", *local, "--detailed-exitcode", "--prune")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


def test_export_rejects_unknown_kinds(run_cli, local):
    result = run_cli("export", *local, "--kinds", "projcts")
    assert result.exit_code == 1 and "--kinds projcts: unknown kind" in result.stderr


# -- targeting ------------------------------------------------------------------------------
TARGETED = """
budget: {period: monthly, hard_cap_usd: 100}
projects:
  - name: web
    keys:
      - name: ci
      - name: deploy
  - name: api
webhooks:
  - url: https://hooks.example.com/a
    events: [key.rotated]
"""


def test_target_plans_the_target_and_its_dependencies_only(run_cli, workdir, local):
    (workdir / "infrai.yaml").write_text(TARGETED)
    key = run_cli("plan", str(workdir), *local, "--target", "projects.web.keys.ci", "--no-color")
    assert key.exit_code == 0, key.output
    assert "Partial plan: only projects.web.keys.ci and what they depend on." in key.stdout
    planned = re.findall(r"^\s+[+~-]\S* (\S+)", key.stdout, re.M)
    assert planned == ["projects.web", "projects.web.keys.ci"]
    hook = run_cli("plan", str(workdir), *local, "--target", 'webhooks["https://hooks.example.com/a"]',
                   "--format", "json")
    doc = json.loads(hook.stdout)
    assert [c["address"] for c in doc["changes"]] == ['webhooks["https://hooks.example.com/a"]'] and doc["partial"]


def test_a_target_matching_nothing_is_an_error_with_suggestions(run_cli, workdir, local):
    (workdir / "infrai.yaml").write_text(TARGETED)
    result = run_cli("plan", str(workdir), *local, "--target", "projects.web.keys.cj")
    assert result.exit_code == 1
    assert "--target projects.web.keys.cj: no declared or live resource" in result.stderr
    assert "did you mean projects.web.keys.ci" in result.stderr


# -- rotation on the emulator's clock, and leaked keys ---------------------------------------
ROTATION = """
projects:
  - name: svc
    keys:
      - {name: quarterly, rotate_after: 90d, grace_hours: 12}
      - {name: monthly, rotate_after: 30d}
      - {name: yearly, rotate_after: 365d}
      - {name: never}
"""


def test_keys_past_their_policy_rotate_on_the_emulator_clock(run_cli, workdir, http_emulator, tmp_path):
    # Over HTTP: the clock offset lives in the served app, which every CLI run then shares.
    url, key, emulator = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    local: tuple[str, ...] = ()
    (workdir / "infrai.yaml").write_text(ROTATION)
    assert run_cli("apply", str(workdir), *local, "--auto-approve", env=env).exit_code == 0
    assert "server_time" in emulator.api.get("/v1/account/whoami")
    assert run_cli("plan", str(workdir), *local, "--detailed-exitcode", env=env).exit_code == 0
    emulator.post("/_emulator/clock", {"advance_seconds": 100 * 86400})
    plan = run_cli("plan", str(workdir), *local, "--no-color", "--detailed-exitcode", env=env)
    assert plan.exit_code == 2
    rotating = re.findall(r"↻ (\S+)  rotate", plan.stdout)
    assert rotating == ["projects.svc.keys.monthly", "projects.svc.keys.quarterly"]
    assert "created 100 days ago; policy rotate_after 90d" in plan.stdout
    secrets = tmp_path / "rotated.json"
    applied = run_cli("apply", str(workdir), *local, "--auto-approve", "--secrets-out", str(secrets), env=env)
    assert applied.exit_code == 0, applied.output
    keys = {k["name"]: k for k in emulator.items("/v1/account/keys/list") if k.get("status") != "revoked"}
    now = datetime.fromisoformat(emulator.api.get("/v1/account/whoami")["server_time"].replace("Z", "+00:00"))
    grace = datetime.fromisoformat(keys["quarterly"]["grace_expires_at"].replace("Z", "+00:00"))
    assert abs((grace - now).total_seconds() - 12 * 3600) < 120
    assert keys["yearly"].get("grace_expires_at") is None
    stored = secrets.read_text()
    assert stored.count("ifr_pk_proj_") == 2 and "quarterly" in stored and "monthly" in stored
    assert run_cli("plan", str(workdir), *local, "--detailed-exitcode", env=env).exit_code == 0


def test_keys_compromised_reissues_and_writes_the_secret_only_to_the_file(run_cli, workdir, local, emulator,
                                                                            tmp_path):
    (workdir / "infrai.yaml").write_text(ROTATION)
    assert run_cli("apply", str(workdir), *local, "--auto-approve").exit_code == 0
    out = tmp_path / "leak.env"
    result = run_cli("keys", "compromised", "projects.svc.keys.never", *local, "--secrets-out", str(out))
    assert result.exit_code == 0, result.output
    assert "reported as compromised" in result.stdout and "old secret no longer works" in result.stdout
    assert "INFRAI_PROJECTS_SVC_KEYS_NEVER_KEY_SECRET=\"ifr_pk_proj_" in out.read_text()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    soft = run_cli("keys", "compromised", "projects.svc.keys.yearly", *local, "--no-confirmed-leak",
                   "--secrets-out", str(out))
    assert soft.exit_code == 0 and "old secret works until" in soft.stdout
    missing = run_cli("keys", "compromised", "projects.svc.keys.nevr", *local)
    assert missing.exit_code == 1 and "did you mean projects.svc.keys.never" in missing.stderr
    assert run_cli("plan", str(workdir), *local, "--detailed-exitcode").exit_code == 0


# -- environments ------------------------------------------------------------------------------
ENVS = EXAMPLES / "environments"


@pytest.mark.parametrize("env_name,extra", [("dev", []), ("prod", ["resources"])])
def test_each_environment_applies_then_plans_clean(run_cli, tmp_path, env_name, extra):
    paths = [str(ENVS / "base")] + [str(ENVS / "envs" / env_name / e) for e in extra]
    args = [*paths, "--var-file", str(ENVS / "envs" / env_name / "vars.yaml"), "--local", str(tmp_path / f"{env_name}.db")]
    applied = run_cli("apply", *args, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert run_cli("plan", *args, "--detailed-exitcode").exit_code == 0
    plan = run_cli("plan", *args, "--format", "json")
    assert json.loads(plan.stdout)["changes"] == []


def test_base_without_vars_names_the_undefined_variables(run_cli):
    result = run_cli("validate", str(ENVS / "base"), "--require-vars")
    assert result.exit_code == 1 and "${var:budget_cap_usd} is not defined" in result.stderr
    # Without --require-vars, validate checks the structure offline (docs/environments.md).
    assert run_cli("validate", str(ENVS / "base")).exit_code == 0


# -- graph --------------------------------------------------------------------------------------
def test_graph_is_dot_with_edges_from_dependencies(run_cli, tmp_path):
    result = run_cli("graph", str(EXAMPLES / "quickstart"), "--local", str(tmp_path / "g.db"))
    assert result.exit_code == 0, result.output
    dot = result.stdout
    assert dot.startswith("digraph plan {") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    nodes = dict(re.findall(r'^\s+("(?:[^"\\]|\\.)*") \[label="[^\n]*\\n([a-z+]+)"\];$', dot, re.M))
    edges = re.findall(r'^\s+("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*");$', dot, re.M)
    plan = json.loads(run_cli("plan", str(EXAMPLES / "quickstart"), "--local", str(tmp_path / "g.db"),
                              "--format", "json").stdout)
    expected_nodes = {json.dumps(c["address"]): "+".join(c["actions"]) for c in plan["changes"]}
    assert nodes == expected_nodes
    expected_edges = {(json.dumps(d), json.dumps(c["address"])) for c in plan["changes"] for d in c["depends_on"]}
    assert set(edges) == expected_edges and expected_edges
    assert "subgraph cluster_level_2" in dot
