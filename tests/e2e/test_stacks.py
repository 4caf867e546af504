"""Two ownership stacks in one account never touch each other's objects."""

from pathlib import Path

STACK_A = """
stack: team-a
prune: true
projects:
  - name: a1
    metadata: {team: a}
    keys:
      - name: k
webhooks:
  - url: https://hooks.example.com/a
    events: [key.rotated]
"""
STACK_B = """
stack: team-b
prune: true
projects:
  - name: b1
    keys:
      - name: k
  - name: b2
webhooks:
  - url: https://hooks.example.com/b
    events: [key.created]
bandwidth_alerts:
  - threshold: 1GiB
"""


def config(root: Path, name: str, text: str) -> str:
    d = root / name
    d.mkdir()
    (d / "infrai.yaml").write_text(text)
    return str(d)


def snapshot(emu) -> dict:
    return {
        "projects": {p["name"]: (p["id"], p["metadata"]) for p in emu.items("/v1/account/projects/list")},
        "keys": sorted((k["project_id"], k["name"], k["key_id"]) for k in emu.items("/v1/account/keys/list")),
        "webhooks": {w["url"]: (w["id"], w["headers"], w["events"]) for w in emu.items("/v1/account/webhooks/list")},
    }


def test_two_stacks_applied_in_turns_converge_and_never_touch_each_other(run_cli, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    a, b = config(tmp_path, "a", STACK_A), config(tmp_path, "b", STACK_B)
    emulator.post("/v1/account/projects/create", {"name": "manual"})
    emulator.post("/v1/account/webhooks/register", {"url": "https://hooks.example.com/manual", "events": ["key.created"]})
    assert run_cli("apply", a, *local, "--auto-approve").exit_code == 0
    assert run_cli("apply", b, *local, "--auto-approve").exit_code == 0
    settled = snapshot(emulator)
    assert settled["projects"]["a1"][1] == {"team": "a", "infrai-reconcile/stack": "team-a"}
    assert settled["webhooks"]["https://hooks.example.com/b"][1] == {"X-Infrai-Stack": "team-b"}
    for _ in range(3):
        for cfg in (a, b):
            result = run_cli("apply", cfg, *local, "--auto-approve", "--force", "--no-color")
            assert result.exit_code == 0, result.output
            assert "No changes." in result.stdout
            assert snapshot(emulator) == settled  # nothing of either stack, nor hand-made, changed
    plan = run_cli("plan", a, *local, "--no-color").stdout
    assert "projects.b1  (owned by stack 'team-b')" in plan
    assert "projects.manual  (not owned by any stack (made by hand))" in plan
    assert "cannot carry an ownership marker" in plan  # b's alert: never pruned by a stack


def test_adopt_then_prune_takes_over_exactly_the_adopted_object(run_cli, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    a = config(tmp_path, "a", STACK_A)
    for name in ("manual", "other-manual"):
        emulator.post("/v1/account/projects/create", {"name": name})
    assert run_cli("apply", a, *local, "--auto-approve").exit_code == 0
    adopted = run_cli("adopt", "projects.manual", "--config", a, *local)
    assert adopted.exit_code == 0, adopted.output
    assert "projects.manual: adopted (was not owned by any stack)" in adopted.stdout
    result = run_cli("apply", a, *local, "--auto-approve", "--no-color")
    assert result.exit_code == 0, result.output
    assert "- projects.manual  delete" in result.stdout
    names = {p["name"] for p in emulator.items("/v1/account/projects/list")}
    assert names == {"default", "a1", "other-manual"}


def test_a_stack_refuses_to_change_what_another_stack_owns(run_cli, emulator, tmp_path):
    local = ["--local", str(emulator.db)]
    assert run_cli("apply", config(tmp_path, "b", STACK_B), *local, "--auto-approve").exit_code == 0
    thief = config(tmp_path, "thief", "stack: team-a\nprojects:\n  - name: b1\n    metadata: {mine: true}\n")
    result = run_cli("plan", thief, *local)
    assert result.exit_code == 1
    assert "projects.b1 is owned by stack 'team-b'" in result.stderr
    assert "reconcile adopt --stack team-a" in result.stderr
    assert run_cli("adopt", "projects.b1.keys.k", "--stack", "team-a", *local).exit_code == 1
