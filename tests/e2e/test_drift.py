"""Drift means drift, through the real CLI and the emulator over HTTP: a key made by hand in
a declared project makes `plan --detailed-exitcode` exit 2 and shows in the text plan, the
drift report and the JSON events; `unmanaged: ignore` says such objects are not ours."""

from __future__ import annotations

import json
from pathlib import Path

CONFIG = """\
projects:
  - name: web
    keys:
      - name: ci
"""


def write(workdir: Path, text: str) -> str:
    (workdir / "infrai.yaml").write_text(text)
    return str(workdir)


def test_a_hand_made_key_in_a_declared_project_is_drift(run_cli, workdir, http_emulator, tmp_path):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, CONFIG)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    assert run_cli("plan", cfg, "--detailed-exitcode", env=env).exit_code == 0  # the caller's own is not drift

    web = next(p for p in emu.items("/v1/account/projects/list") if p["name"] == "web")
    emu.post("/v1/account/keys/create", {"project_id": web["id"], "name": "by-hand"})
    drift_file = tmp_path / "drift.json"
    planned = run_cli("plan", cfg, "--detailed-exitcode", "--no-color", "--drift-report", str(drift_file), env=env)
    assert planned.exit_code == 2, planned.output
    out = planned.stdout
    assert "No changes to make, but the account has drift" in out
    assert ("Drift (live, not declared, inside what the config manages): 1 API key.\n"
            "    projects.web.keys.by-hand  (not declared in projects.web)\n") in out
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete; drift: 1 undeclared object." in out
    report = json.loads(drift_file.read_text())
    assert report["drifted"] is True
    assert report["undeclared"] == [{"address": "projects.web.keys.by-hand", "kind": "api_key",
                                     "reason": "not declared in projects.web"}]
    events = [json.loads(line) for line in run_cli("plan", cfg, "--json", env=env).stdout.splitlines()]
    (drift,) = [e for e in events if e["type"] == "resource_drift"]
    assert drift["change"]["resource"]["addr"] == "projects.web.keys.by-hand" and drift["@level"] == "warn"
    assert [e["changes"]["drift"] for e in events if e["type"] == "change_summary"] == [1]
    markdown = run_cli("plan", cfg, "--format", "markdown", env=env).stdout
    assert "**Drift:** 1 live object the configuration does not declare" in markdown

    # Not ours: said once in the config, and the drift check is clean again.
    write(workdir, "unmanaged: ignore\n" + CONFIG)
    ignored = run_cli("plan", cfg, "--detailed-exitcode", "--no-color", env=env)
    assert ignored.exit_code == 0, ignored.output
    assert "    projects.web.keys.by-hand  (not declared)" in ignored.stdout
    write(workdir, "unmanaged: {keys: ignore}\n" + CONFIG)
    assert run_cli("plan", cfg, "--detailed-exitcode", env=env).exit_code == 0
    # Or pruned: drift is then a delete.
    write(workdir, CONFIG)
    pruned = run_cli("plan", cfg, "--prune", "keys", "--no-color", env=env)
    assert "- projects.web.keys.by-hand  delete" in pruned.stdout and "Drift" not in pruned.stdout
