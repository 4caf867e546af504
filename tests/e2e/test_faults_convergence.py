"""An apply that fails halfway reports honestly, and the next one converges without
duplicates; a lost response is retried with its idempotency key and replayed."""

from collections import Counter

import httpx

CONFIG = """
projects:
""" + "".join(f"""  - name: p{i}
    keys:
      - name: a
      - name: b
""" for i in range(4))


def set_faults(url: str, config: dict) -> None:
    httpx.post(f"{url}/_emulator/faults", json=config).raise_for_status()


def names(emu, path: str, field: str = "name") -> Counter:
    return Counter(item[field] for item in emu.items(path))


def test_failure_halfway_then_rerun_converges_without_duplicates(http_emulator, run_cli, workdir):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRIES": "1", "INFRAI_RETRY_DELAY": "0"}
    (workdir / "c.yaml").write_text(CONFIG)
    set_faults(url, {"rules": [{"method": "POST", "path": "/v1/account/keys/create", "status": 500}]})
    failed = run_cli("apply", str(workdir), "--auto-approve", "--parallelism", "2", "--no-color", env=env)
    assert failed.exit_code == 1
    assert "Apply incomplete:" in failed.stdout
    assert "4 done" in failed.stdout  # the projects
    assert "HTTP 500 INTERNAL" in failed.stdout
    assert "not started" in failed.stdout
    assert len(emu.items("/v1/account/keys/list")) == 1  # only the bootstrap key

    set_faults(url, {})
    remaining = run_cli("plan", str(workdir), "--no-color", env=env)
    assert "Plan: 8 to create, 0 to update" in remaining.stdout  # only what is left
    assert run_cli("apply", str(workdir), "--auto-approve", env=env).exit_code == 0
    projects = names(emu, "/v1/account/projects/list")
    assert all(n == 1 for n in projects.values()) and len(projects) == 5
    keys = Counter((k["project_id"], k["name"]) for k in emu.items("/v1/account/keys/list"))
    assert len(keys) == 9 and all(n == 1 for n in keys.values())


def test_lost_response_is_replayed_not_repeated(http_emulator, run_cli, workdir):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRY_DELAY": "0"}
    (workdir / "c.yaml").write_text("projects:\n  - name: solo\n    keys:\n      - name: k\n")
    # The create takes effect, then the answer is lost; the client retries with the same key.
    set_faults(url, {"rules": [
        {"method": "POST", "path": "/v1/account/projects/create", "status": 500, "nth": 1, "after_commit": True},
        {"method": "POST", "path": "/v1/account/keys/create", "status": "drop", "nth": 1, "after_commit": True},
    ]})
    result = run_cli("apply", str(workdir), "--auto-approve", "--secrets-out", "s.json", env=env)
    assert result.exit_code == 0, result.output
    assert "replayed by the API" in result.stdout
    assert names(emu, "/v1/account/projects/list")["solo"] == 1
    keys = [k for k in emu.items("/v1/account/keys/list") if k["name"] == "k"]
    assert len(keys) == 1
    assert "ifr_pk_proj_" in open("s.json").read()  # the secret came back with the replay
