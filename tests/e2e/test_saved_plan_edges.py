"""Saved plans and idempotency keys at their edges: applied twice, stale deletes, and an
account that returns to an earlier state."""

import json
from pathlib import Path

import httpx

HOOK = "https://hooks.example.com/a"
WITH = f"""
members:
  - {{email: x@example.com, role: viewer}}
webhooks:
  - url: {HOOK}
    events: [key.rotated]
projects:
  - name: web
    keys:
      - name: ci
"""
WITHOUT = "projects:\n  - name: web\n"


def write(d: Path, text: str) -> str:
    (d / "c.yaml").write_text(text)
    return str(d)


def test_reapplying_after_the_account_returned_to_an_earlier_state_really_creates(run_cli, workdir, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    cfg = write(workdir, WITH)
    assert run_cli("apply", cfg, *local, "--auto-approve", "--secrets-out", "s1.json").exit_code == 0
    first_secret = json.loads(Path("s1.json").read_text())["secrets"]["projects.web.keys.ci.key_secret"]["value"]
    write(workdir, WITHOUT)
    # --force: it deletes the account's only member, webhook and key, on purpose.
    assert run_cli("apply", cfg, *local, "--auto-approve", "--prune", "--force").exit_code == 0
    write(workdir, WITH)  # the same plan as the first apply, against the same live state
    again = run_cli("apply", cfg, *local, "--auto-approve", "--secrets-out", "s2.json", "--no-color")
    assert again.exit_code == 0, again.output
    assert "replayed" not in again.stdout
    assert run_cli("plan", cfg, *local, "--detailed-exitcode").exit_code == 0
    second_secret = json.loads(Path("s2.json").read_text())["secrets"]["projects.web.keys.ci.key_secret"]["value"]
    assert second_secret != first_secret
    who = httpx.Client(transport=emulator.http._transport, base_url="http://emulator")
    assert who.get("/v1/account/whoami", headers={"Authorization": f"Bearer {second_secret}"}).status_code == 200


def test_a_saved_rotation_applied_twice_rotates_once(run_cli, workdir, http_emulator, tmp_path):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, WITHOUT + "    keys:\n      - name: ci\n")
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    planfile = str(tmp_path / "p.json")
    assert run_cli("plan", cfg, "--replace", "projects.web.keys.ci", "--out", planfile, env=env).exit_code == 0
    assert run_cli("apply", planfile, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    rotated = [k for k in emu.items("/v1/account/keys/list") if k["name"] == "ci"][0]["last_rotated_at"]
    httpx.post(f"{url}/_emulator/clock", json={"advance_seconds": 90000}).raise_for_status()
    second = run_cli("apply", planfile, "--auto-approve", "--secrets-out", "s.json", env=env)
    assert second.exit_code == 0, second.output
    assert "already applied" in second.stderr
    assert [k for k in emu.items("/v1/account/keys/list") if k["name"] == "ci"][0]["last_rotated_at"] == rotated


def test_a_saved_replace_applied_twice_does_nothing_the_second_time(run_cli, workdir, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    cfg = write(workdir, "members:\n  - {email: a@example.com, role: viewer}\n")
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    write(workdir, "members:\n  - {email: a@example.com, role: admin}\n")
    planfile = str(tmp_path / "p.json")
    assert run_cli("plan", cfg, *local, "--out", planfile).exit_code == 0
    assert run_cli("apply", planfile, *local, "--auto-approve").exit_code == 0
    second = run_cli("apply", planfile, *local, "--auto-approve")
    assert second.exit_code == 0, second.output
    assert [m["role"] for m in emulator.items("/v1/account/members/list") if m["email"] == "a@example.com"] == ["admin"]


def test_a_saved_delete_is_stale_when_its_target_changed(run_cli, workdir, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    cfg = write(workdir, f"webhooks:\n  - url: {HOOK}\n    events: [key.rotated]\n")
    assert run_cli("apply", cfg, *local, "--auto-approve").exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "c.yaml").write_text("version: 1\n")
    planfile = str(tmp_path / "p.json")
    assert run_cli("plan", str(empty), *local, "--prune", "webhooks", "--out", planfile).exit_code == 0
    hook = emulator.items("/v1/account/webhooks/list")[0]
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"events": ["key.revoked"]})
    stale = run_cli("apply", planfile, *local, "--auto-approve")
    assert stale.exit_code == 1
    assert "plan is stale" in stale.stderr and HOOK in stale.stderr
    assert len(emulator.items("/v1/account/webhooks/list")) == 1


def test_a_literal_secret_cannot_be_saved_in_a_plan(run_cli, workdir, emulator, tmp_path):
    cfg = write(workdir, f"webhooks:\n  - url: {HOOK}\n    events: [key.rotated]\n    secret: password1\n")
    result = run_cli("plan", cfg, "--local", str(emulator.db), "--out", str(tmp_path / "p.json"))
    assert result.exit_code == 1
    assert "does not come from an environment variable" in result.stderr
    assert not (tmp_path / "p.json").exists()


def test_saved_plan_digests_are_salted_and_slow(run_cli, workdir, emulator, tmp_path):
    cfg = write(workdir, f"webhooks:\n  - url: {HOOK}\n    events: [key.rotated]\n    secret: ${{env:HOOK_SECRET}}\n")
    planfile = tmp_path / "p.json"
    env = {"HOOK_SECRET": "password1"}
    assert run_cli("plan", cfg, "--local", str(emulator.db), "--out", str(planfile), env=env).exit_code == 0
    text = planfile.read_text()
    assert "password1" not in text and "pbkdf2-sha256$" in text
    import hashlib
    assert hashlib.sha256(b"password1").hexdigest() not in text
    assert run_cli("apply", str(planfile), "--local", str(emulator.db), "--auto-approve", env=env).exit_code == 0
    changed = run_cli("apply", str(planfile), "--local", str(emulator.db), "--auto-approve", env={"HOOK_SECRET": "other-value"})
    assert changed.exit_code == 1 and "different value than at plan time" in changed.stderr


def test_saved_plans_send_secrets_to_the_configs_sinks(run_cli, workdir, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    cfg = write(workdir, WITHOUT + "    keys:\n      - name: ci\nsecrets:\n  sinks:\n    - file: vault.json\n")
    planfile = str(tmp_path / "p.json")
    assert run_cli("plan", cfg, *local, "--out", planfile).exit_code == 0
    applied = run_cli("apply", planfile, *local, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "delivered to vault.json" in applied.stdout
    assert "projects.web.keys.ci.key_secret" in json.loads(Path("vault.json").read_text())["secrets"]


def test_show_secrets_also_keeps_them_in_the_default_file(run_cli, workdir, emulator):
    cfg = write(workdir, WITHOUT + "    keys:\n      - name: ci\n")
    result = run_cli("apply", cfg, "--local", str(emulator.db), "--auto-approve", "--show-secrets")
    assert result.exit_code == 0
    assert "projects.web.keys.ci.key_secret = ifr_pk_proj_" in result.stdout
    assert "projects.web.keys.ci.key_secret" in json.loads(Path(".infrai-secrets.json").read_text())["secrets"]
