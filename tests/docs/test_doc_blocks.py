"""Documentation that cannot drift: every fenced block in README.md and docs/*.md tagged
` ```yaml test ` is validated with `reconcile validate`, and every ` ```bash test ` block is
run with bash in a temporary directory (holding a copy of examples/) with this checkout's
`reconcile` on PATH. Shell blocks must work offline (`--local` only), within 60 s each.

Untagged blocks are illustrations (installs, real endpoints, placeholders) and are not run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "ci"))
from ci_support import REPO, clean_env

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+) test[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)")


def blocks(lang: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1) == lang:
                line = text.count("\n", 0, m.start()) + 1
                found.append((f"{doc.relative_to(REPO)}:{line}", m.group(2)))
    return found


def test_the_readme_tags_its_quickstart_and_its_config_example():
    for lang, must in (("bash", "reconcile apply examples/quickstart --local"), ("yaml", "projects:")):
        assert any(where.startswith("README.md") and must in body for where, body in blocks(lang)), lang


@pytest.mark.parametrize("where,body", blocks("yaml"), ids=lambda v: v if ":" in str(v) else "")
def test_yaml_block_is_a_valid_config(where: str, body: str, tmp_path: Path):
    (tmp_path / "config.yaml").write_text(body, encoding="utf-8")
    # Referenced environment variables get placeholder values, as CI would provide secrets.
    env = clean_env(tmp_path, **{name: "doc-test-value" for name in ENV_REF.findall(body)})
    result = subprocess.run(["reconcile", "validate", "config.yaml"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, f"{where}: {result.stderr}"


@pytest.mark.parametrize("where,body", blocks("bash"), ids=lambda v: v if ":" in str(v) else "")
def test_bash_block_runs(where: str, body: str, tmp_path: Path):
    assert "--local" in body or "validate" in body or "version" in body, f"{where}: tested blocks stay offline"
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    result = subprocess.run(["bash", "-e", "-c", body], cwd=tmp_path, env=clean_env(tmp_path), capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
