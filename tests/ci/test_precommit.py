"""The pre-commit hook, run the way `pre-commit try-repo .` would: pre-commit's `files:`
filter over the staged names, then the hook's `entry` and `args` with the matched names
appended, offline (pre-commit itself is not a dependency)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import yaml
from ci_support import REPO, clean_env

from reconcile.cli.ci.precommit import DEFAULT_FILES, configurations

(HOOK,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


def matches(name: str) -> bool:
    return re.search(HOOK["files"], name) is not None and name.endswith((".yaml", ".yml"))  # files + types: [yaml]


def run_hook(tmp: Path, files: list[str], args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*shlex.split(HOOK["entry"]), *(args or HOOK.get("args", [])),
                           *[f for f in files if matches(f)]], cwd=tmp, env=clean_env(tmp),
                          capture_output=True, text=True, check=False, timeout=60)


def test_hook_declaration_matches_config_files_only():
    assert HOOK["id"] == "reconcile-validate" and HOOK["language"] == "python"
    assert HOOK["entry"] == "reconcile ci pre-commit" and HOOK["files"] == DEFAULT_FILES
    for name in ("infrai.yaml", "infra/infrai.yml", "infra/prod/infrai-prod.yaml", "infrai.accounts.yaml"):
        assert matches(name), name
    for name in (".github/workflows/ci.yml", "action.yml", ".pre-commit-config.yaml", "docker-compose.yaml",
                 "mkdocs.yml", "infra/notinfrai.yaml", "infrai.json", "infrai/projects.yaml"):
        assert not matches(name), name


def test_over_this_repository_the_hook_picks_only_the_example_configs():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True,
                             timeout=30).stdout.split()
    picked = [f for f in tracked if matches(f)]
    assert picked and all(Path(f).name == "infrai.yaml" and f.startswith("examples/") for f in picked)
    assert not any(matches(f) for f in tracked if f.startswith((".github/", "examples/ci/")) or f == "action.yml")


def test_hook_passes_a_valid_config_and_fails_an_invalid_one(tmp_path: Path):
    shutil.copy(REPO / "examples" / "quickstart" / "infrai.yaml", tmp_path / "infrai.yaml")
    (tmp_path / "README.md").write_text("not yaml")
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx}}\n")  # not config: never given
    ok = run_hook(tmp_path, ["infrai.yaml", "README.md", "compose.yaml"])
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "infrai-broken.yml").write_text("projects:\n  - name: api\n    rate_limit_rpm: lots\n")
    bad = run_hook(tmp_path, ["infrai.yaml", "infrai-broken.yml"])
    assert bad.returncode == 1
    assert "infrai-broken.yml:3:21: projects[0].rate_limit_rpm:" in bad.stderr


def test_two_environments_staged_together_are_two_configurations(tmp_path: Path):
    for env in ("staging", "production"):
        (tmp_path / env).mkdir()
        shutil.copy(REPO / "examples" / "quickstart" / "infrai.yaml", tmp_path / env / "infrai.yaml")
    staged = ["staging/infrai.yaml", "production/infrai.yaml"]
    assert configurations(staged) == {"staging": ["staging/infrai.yaml"], "production": ["production/infrai.yaml"]}
    merged = subprocess.run(["reconcile", "validate", *staged], cwd=tmp_path, env=clean_env(tmp_path),
                            capture_output=True, text=True, check=False, timeout=60)
    assert merged.returncode == 1  # one configuration with everything twice: what the hook avoids
    hook = run_hook(tmp_path, staged)
    assert hook.returncode == 0, hook.stderr
    assert hook.stdout.count("Configuration is valid") == 2


def test_the_environments_layout_passes_with_its_var_file_as_hook_args(tmp_path: Path):
    shutil.copytree(REPO / "examples" / "environments", tmp_path / "environments")
    staged = [str(p.relative_to(tmp_path)) for p in sorted((tmp_path / "environments").rglob("*.yaml"))]
    assert [f for f in staged if matches(f)] == ["environments/base/infrai.yaml"]  # vars.yaml is not config
    hook = run_hook(tmp_path, staged, args=["--var-file", "environments/envs/dev/vars.yaml"])
    assert hook.returncode == 0, hook.stderr
