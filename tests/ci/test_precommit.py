"""The pre-commit hook, run the way `pre-commit try-repo .` would: the hook's `entry` with the
staged file names appended, offline (pre-commit itself is not a dependency)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import yaml
from ci_support import REPO, clean_env

(HOOK,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


def run_hook(tmp: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    matched = [f for f in files if re.search(HOOK["files"], f)]  # pre-commit's filter
    return subprocess.run([*shlex.split(HOOK["entry"]), *HOOK.get("args", []), *matched], cwd=tmp,
                          env=clean_env(tmp), capture_output=True, text=True, check=False, timeout=60)


def test_hook_declaration():
    assert HOOK["id"] == "reconcile-validate" and HOOK["language"] == "python"
    assert HOOK["entry"] == "reconcile validate" and HOOK["files"] == r"\.ya?ml$"
    assert all(re.search(HOOK["files"], f) for f in ("a.yaml", "b.yml")) and not re.search(HOOK["files"], "c.json")


def test_hook_passes_a_valid_config_and_fails_an_invalid_one(tmp_path: Path):
    shutil.copy(REPO / "examples" / "quickstart" / "infrai.yaml", tmp_path / "infrai.yaml")
    (tmp_path / "README.md").write_text("not yaml")
    ok = run_hook(tmp_path, ["infrai.yaml", "README.md"])
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "broken.yml").write_text("projects:\n  - name: web\n    rate_limit_rpm: lots\n")
    bad = run_hook(tmp_path, ["infrai.yaml", "broken.yml"])
    assert bad.returncode == 1
    assert "broken.yml:3:21: projects[0].rate_limit_rpm:" in bad.stderr
