"""Every example applies cleanly over real HTTP, and planning again shows no changes."""

from pathlib import Path

import pytest

from e2e_support import EXAMPLES, assert_no_secrets

# policy/ holds a --policy file, not a configuration (tests/e2e/test_policy_gates.py runs it).
EXAMPLE_DIRS = sorted(p.name for p in EXAMPLES.iterdir()
                      if p.is_dir() and any(p.glob("*.yaml")) and p.name != "policy")


def test_there_are_examples_to_test():
    assert {"quickstart", "production", "ci-drift"} <= set(EXAMPLE_DIRS)


@pytest.mark.parametrize("example", EXAMPLE_DIRS)
def test_example_applies_then_plans_empty_over_http(example, http_emulator, run_cli, tmp_path):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    path = str(EXAMPLES / example)
    assert run_cli("validate", path).exit_code == 0
    first = run_cli("plan", path, "--detailed-exitcode", env=env)
    assert first.exit_code == 2, first.output
    applied = run_cli("apply", path, "--auto-approve", "--secrets-out", str(tmp_path / "s.json"), env=env)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete" in applied.stdout
    again = run_cli("plan", path, "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    # The secrets file holds every key secret the apply produced, and nothing else printed them.
    secrets = (tmp_path / "s.json").read_text()
    assert_no_secrets(applied.stdout, applied.stderr)
    if "keys:" in "".join(p.read_text() for p in Path(path).glob("*.yaml")):
        assert "ifr_pk_proj_" in secrets
    assert oct((tmp_path / "s.json").stat().st_mode & 0o777) == "0o600"


def test_quickstart_runs_in_process_with_local(run_cli, tmp_path):
    path = str(EXAMPLES / "quickstart")
    applied = run_cli("apply", path, "--local", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (tmp_path / ".infrai-local.db").exists()
    assert "secret(s) delivered to .infrai-secrets.json (mode 0600)" in applied.stdout
    assert run_cli("plan", path, "--local", "--detailed-exitcode").exit_code == 0
