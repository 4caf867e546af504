"""Deletion safety at every account size, through the real CLI and the emulator over HTTP:
an empty or truncated config with --prune is refused (naming what would go) until --force."""

from __future__ import annotations

from pathlib import Path

ACCOUNT = """\
version: 1
projects:
  - name: web
    keys: [{name: ci}, {name: deploy}]
  - name: api
    keys: [{name: ci}, {name: batch}]
webhooks:
  - {url: "https://hooks.example.com/a", events: [key.rotated]}
  - {url: "https://hooks.example.com/b", events: [budget.alert]}
members:
  - {email: ops@example.com, role: admin}
  - {email: dev@example.com, role: viewer}
bandwidth_alerts:
  - threshold: 10GiB
  - threshold: 20GiB
"""
LISTS = {"projects": "/v1/account/projects/list", "keys": "/v1/account/keys/list",
         "webhooks": "/v1/account/webhooks/list", "members": "/v1/account/members/list",
         "alerts": "/v1/account/bandwidth/alerts/list"}


def counts(emu) -> dict[str, int]:
    out = {}
    for name, path in LISTS.items():
        items = emu.items(path)
        out[name] = len([i for i in items if i.get("status") != "revoked"])
    return out


def write(workdir: Path, text: str, name: str = "infrai.yaml") -> str:
    path = workdir / name
    path.write_text(text)
    return str(path)


def test_an_empty_config_with_prune_is_refused_on_a_12_object_account(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, ACCOUNT)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    before = counts(emu)
    # 12 objects of ours, plus the project and key the tool calls with.
    assert before == {"projects": 3, "keys": 5, "webhooks": 2, "members": 2, "alerts": 2}

    write(workdir, "version: 1\n")
    planned = run_cli("plan", cfg, "--prune", env=env)
    assert planned.exit_code == 0, planned.output
    assert "Warning: apply refuses this plan without --force: it deletes every project it manages (2 of 2)" \
        in planned.stdout

    markdown = run_cli("plan", cfg, "--prune", "--format", "markdown", env=env).stdout  # the PR comment
    assert "> **Warning:** apply refuses this plan without --force: it deletes every project" in markdown

    refused = run_cli("apply", cfg, "--prune", "--auto-approve", env=env)
    assert refused.exit_code == 1, refused.output
    err = refused.stderr
    assert "refusing to apply" in err
    assert "deletes every project it manages (2 of 2): projects.api, projects.web" in err
    assert "deletes every API key it manages (4 of 4): projects.api.keys.batch" in err
    assert 'deletes every webhook it manages (2 of 2): webhooks["https://hooks.example.com/a"]' in err
    assert "deletes every member it manages (2 of 2)" in err
    assert "deletes every bandwidth alert it manages (2 of 2)" in err
    assert "--force" in err and "Traceback" not in refused.output
    assert counts(emu) == before  # nothing deleted

    forced = run_cli("apply", cfg, "--prune", "--auto-approve", "--force", env=env)
    assert forced.exit_code == 0, forced.output
    # Left: the project and key the tool calls with.
    assert counts(emu) == {"projects": 1, "keys": 1, "webhooks": 0, "members": 0, "alerts": 0}


def test_a_truncated_config_is_refused_and_an_edit_is_not(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, ACCOUNT)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    # The file cut off after the first project: its own keys stay, the other project goes with
    # its keys, and every webhook, member and alert would go.
    write(workdir, ACCOUNT.split("  - name: api")[0])
    refused = run_cli("apply", cfg, "--prune", "--auto-approve", env=env)
    assert refused.exit_code == 1, refused.output
    assert "deletes every webhook it manages (2 of 2)" in refused.stderr
    assert "deletes every project" not in refused.stderr  # projects.web is still declared

    # Dropping one webhook is an edit: applied without --force.
    write(workdir, ACCOUNT.replace('  - {url: "https://hooks.example.com/b", events: [budget.alert]}\n', ""))
    edited = run_cli("apply", cfg, "--prune", "--auto-approve", env=env)
    assert edited.exit_code == 0, edited.output
    assert counts(emu)["webhooks"] == 1


def test_prune_projects_shows_a_dropped_projects_keys_once_under_it(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    cfg = write(workdir, ACCOUNT)
    assert run_cli("apply", cfg, "--auto-approve", "--secrets-out", "s.json", env=env).exit_code == 0
    write(workdir, ACCOUNT.replace("  - name: api\n    keys: [{name: ci}, {name: batch}]\n", ""))
    planned = run_cli("plan", cfg, "--prune", "projects", "--no-color", env=env)
    assert planned.exit_code == 0, planned.output
    out = planned.stdout
    assert ("  - projects.api  delete (not declared and pruning is on)  — not declared in any config file\n"
            "      deletes 2 API keys with it: projects.api.keys.batch, projects.api.keys.ci\n") in out
    assert out.count("projects.api.keys.ci") == 1 and out.count("projects.api.keys.batch") == 1
    assert "Plan: 0 to create, 0 to update, 0 to replace, 3 to delete." in out
    applied = run_cli("apply", cfg, "--prune", "projects", "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert counts(emu)["keys"] == 3  # web's two and the caller's
