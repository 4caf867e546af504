"""Renames through the real CLI and the emulator over HTTP: `renamed_from` renames in place
(same id, same secret, the project's keys kept); without it the plan hints at it and never
deletes the old key before its successor exists."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

BEFORE = """\
projects:
  - name: web
    keys:
      - {name: ci, scopes: [account:read]}
"""
KEY_RENAMED = """\
projects:
  - name: web
    keys:
      - {name: deploy, renamed_from: ci, scopes: [account:read]}
"""
PROJECT_RENAMED = """\
projects:
  - name: site
    renamed_from: web
    keys:
      - {name: deploy, scopes: [account:read]}
"""


def write(workdir: Path, text: str) -> str:
    (workdir / "infrai.yaml").write_text(text)
    return str(workdir)


def keys(emu) -> list[dict]:
    return [k for k in emu.items("/v1/account/keys/list") if k.get("status") != "revoked"]


def test_renamed_from_renames_key_and_project_in_place(run_cli, workdir, http_emulator, tmp_path):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, BEFORE)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    secret = json.loads(Path("s.json").read_text())["secrets"]["projects.web.keys.ci.key_secret"]["value"]
    (old,) = [k for k in keys(emu) if k["name"] == "ci"]
    project_id = old["project_id"]

    write(workdir, KEY_RENAMED)
    planned = run_cli("plan", cfg, "--prune", "--no-color", "--detailed-exitcode", env=env)
    assert planned.exit_code == 2, planned.output
    assert "~ projects.web.keys.deploy  update (renamed from projects.web.keys.ci)" in planned.stdout
    assert 'name : "ci" → "deploy"' in planned.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in planned.stdout
    applied = run_cli("apply", cfg, "--prune", "--auto-approve", "--secrets-out", "s.json", env=env)
    assert applied.exit_code == 0, applied.output
    (renamed,) = [k for k in keys(emu) if k["project_id"] == project_id]
    assert (renamed["key_id"], renamed["name"]) == (old["key_id"], "deploy")
    who = httpx.get(f"{url}/v1/account/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert who.status_code == 200  # the same secret still works
    assert run_cli("plan", cfg, "--prune", "--detailed-exitcode", env=env).exit_code == 0  # converged

    write(workdir, PROJECT_RENAMED)
    planned = run_cli("plan", cfg, "--prune", "--no-color", env=env)
    assert "~ projects.site  update (renamed from projects.web)" in planned.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in planned.stdout
    # Saved and applied as a plan file: apply finds the project under its old name.
    assert run_cli("plan", cfg, "--prune", "--out", str(tmp_path / "p.json"), env=env).exit_code == 0
    assert run_cli("apply", str(tmp_path / "p.json"), "--auto-approve", env=env).exit_code == 0
    projects = {p["id"]: p["name"] for p in emu.items("/v1/account/projects/list")}
    assert projects[project_id] == "site"
    assert [(k["key_id"], k["project_id"]) for k in keys(emu) if k["name"] == "deploy"] == [(old["key_id"], project_id)]
    assert httpx.get(f"{url}/v1/account/whoami", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert run_cli("plan", cfg, "--prune", "--detailed-exitcode", env=env).exit_code == 0


def test_a_likely_rename_is_hinted_and_ordered_after_its_successor(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, BEFORE)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    write(workdir, KEY_RENAMED.replace(" renamed_from: ci,", ""))
    planned = run_cli("plan", cfg, "--prune", "--no-color", env=env)
    assert ("projects.web.keys.deploy looks like a rename of projects.web.keys.ci (same project and fields): "
            "to rename it in place, keeping its id and secret, add `renamed_from: ci` to projects.web.keys.deploy "
            "in the config") in planned.stdout
    doc = json.loads(run_cli("plan", cfg, "--prune", "--format", "json", env=env).stdout)
    by = {c["address"]: c for c in doc["changes"]}
    assert by["projects.web.keys.ci"]["action"] == "delete"
    assert by["projects.web.keys.ci"]["depends_on"] == ["projects.web.keys.deploy"]
