"""The default payment method, declared (`payment_method: {default: pm_...}`), over real
HTTP against the emulator: the plan shows the change, apply sets it with
`payment_method.set_default`, the next plan is empty, and export writes it back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CONFIG = "payment_method:\n  default: pm_backup\n"


@pytest.fixture
def served(http_emulator):
    """(env for the CLI, emulator) with a second payment method, pm_backup, that is not the default."""
    url, key, emulator = http_emulator
    emulator.post("/_emulator/payment_methods", {"id": "pm_backup", "brand": "mastercard", "last4": "4444"})
    return {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}, emulator


def _default(emulator) -> str:
    return emulator.api.get("/v1/account/payment_method/list")["default_id"]


def test_declaring_the_default_plans_applies_and_converges(run_cli, workdir: Path, served):
    env, emulator = served
    first = _default(emulator)
    assert first != "pm_backup"
    (workdir / "infrai.yaml").write_text(CONFIG)

    plan = run_cli("plan", str(workdir), "--detailed-exitcode", "--no-color", env=env)
    assert plan.exit_code == 2, plan.output
    assert "~ payment_method  update" in plan.stdout
    assert f'default : "{first}" → "pm_backup"' in plan.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in plan.stdout
    assert _default(emulator) == first  # a plan changes nothing

    applied = run_cli("apply", str(workdir), "--auto-approve", "--no-color", env=env)
    assert applied.exit_code == 0, applied.output
    assert _default(emulator) == "pm_backup"
    methods = emulator.api.get("/v1/account/payment_method/list")["items"]
    assert [m["id"] for m in methods if m["is_default"]] == ["pm_backup"]

    again = run_cli("plan", str(workdir), "--detailed-exitcode", "--no-color", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


def test_export_writes_the_default(run_cli, tmp_path: Path, workdir: Path, served):
    env, emulator = served
    (workdir / "infrai.yaml").write_text(CONFIG)
    assert run_cli("apply", str(workdir), "--auto-approve", env=env).exit_code == 0
    out = tmp_path / "export"
    exported = run_cli("export", "-o", f"{out}/", env=env)
    assert exported.exit_code == 0, exported.output
    docs = [yaml.safe_load(p.read_text()) or {} for p in sorted(out.glob("*.yaml"))]
    assert [d["payment_method"] for d in docs if "payment_method" in d] == [{"default": "pm_backup"}]
    replan = run_cli("plan", str(out), "--detailed-exitcode", env=env)
    assert replan.exit_code == 0, replan.output


def test_a_default_the_account_lacks_is_a_warning_not_a_failed_call(run_cli, workdir: Path, served):
    env, emulator = served
    first = _default(emulator)
    (workdir / "infrai.yaml").write_text("payment_method: {default: pm_gone}\n")
    plan = run_cli("plan", str(workdir), "--detailed-exitcode", "--no-color", env=env)
    assert plan.exit_code == 0, plan.output
    assert "the account has no payment method pm_gone" in plan.output
    assert run_cli("apply", str(workdir), "--auto-approve", env=env).exit_code == 0
    assert _default(emulator) == first
