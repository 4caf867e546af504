"""--keep-going and --atomic under injected failures, checked through the API."""

import json

import httpx

CONFIG = """
budget: {period: monthly, hard_cap_usd: 300}
projects:
  - name: alpha
    keys:
      - name: k
  - name: beta
webhooks:
  - url: https://hooks.example.com/w
    events: [key.rotated]
"""


def fail_key_creates(url: str) -> None:
    rule = {"method": "POST", "path": "/v1/account/keys/create", "status": 500}
    httpx.post(f"{url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()


def account(emu) -> dict:
    return {
        "projects": sorted(p["name"] for p in emu.items("/v1/account/projects/list")),
        "keys": sorted(k["name"] for k in emu.items("/v1/account/keys/list")),
        "webhooks": sorted(w["url"] for w in emu.items("/v1/account/webhooks/list")),
        "budget": emu.api.get("/v1/account/budget/get"),
    }


def test_keep_going_skips_only_what_depends_on_the_failure(http_emulator, run_cli, workdir):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRIES": "0"}
    (workdir / "c.yaml").write_text(CONFIG)
    fail_key_creates(url)
    result = run_cli("apply", str(workdir), "--auto-approve", "--keep-going", "--no-color", env=env)
    assert result.exit_code == 1
    assert "projects.alpha.keys.k: create FAILED" in result.stdout
    assert "Apply incomplete: 4 done, 1 failed, 0 skipped, 0 not started." in result.stdout
    after = account(emu)
    assert after["projects"] == ["alpha", "beta", "default"]
    assert after["webhooks"] == ["https://hooks.example.com/w"]
    assert after["budget"]["hard_cap_usd"] == 300


def test_atomic_undoes_the_reversible_steps(http_emulator, run_cli, workdir):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRIES": "0"}
    before = account(emu)
    (workdir / "c.yaml").write_text(CONFIG)
    fail_key_creates(url)
    result = run_cli("apply", str(workdir), "--auto-approve", "--keep-going", "--atomic", "--no-color", env=env)
    assert result.exit_code == 1
    assert "undone" in result.stdout
    assert "the account is as it was before this apply" in result.stdout
    assert account(emu) == before  # checked through the API, not the tool


def fail_project_creates(url: str) -> None:
    rule = {"method": "POST", "path": "/v1/account/projects/create", "status": 500}
    httpx.post(f"{url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()


def test_a_skipped_step_names_the_dependency_that_failed(http_emulator, run_cli, workdir):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRIES": "0"}
    (workdir / "c.yaml").write_text(CONFIG)
    fail_project_creates(url)  # alpha and beta both fail
    result = run_cli("apply", str(workdir), "--auto-approve", "--keep-going", "--no-color", env=env)
    assert result.exit_code == 1
    assert "  + projects.alpha.keys.k: create skipped\n      depends on projects.alpha (failed)\n" in result.stdout
    assert "1 skipped" in result.stdout

    events = run_cli("apply", str(workdir), "--auto-approve", "--keep-going", "--json", env=env)
    assert events.exit_code == 1
    skipped = [m for line in events.stdout.splitlines() if (m := json.loads(line))["type"] == "apply_errored"
               and m["hook"]["resource"]["addr"] == "projects.alpha.keys.k"]
    assert [m["@message"] for m in skipped] == [
        "projects.alpha.keys.k: create skipped: depends on projects.alpha (failed)"]
