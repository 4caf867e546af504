"""Documentation that cannot drift: every fenced block in README.md and docs/*.md tagged
` ```yaml test ` is validated with `reconcile validate`, and every ` ```bash test ` block is
run with bash in a temporary directory (holding a copy of examples/) with this checkout's
`reconcile` on PATH. Shell blocks must work offline (`--local` only), within 60 s each.
The ` ```python test ` blocks of one document run in order as one script (a page builds its
example step by step), in an empty temporary directory with this checkout importable,
offline (an in-process emulator), within 60 s per document.

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


PYTHON_DOCS = sorted({where.split(":")[0] for where, _ in blocks("python")})


@pytest.mark.parametrize("doc", PYTHON_DOCS)
def test_python_blocks_run(doc: str, tmp_path: Path):
    found = [(where, body) for where, body in blocks("python") if where.split(":")[0] == doc]
    # Each block marked with the line it starts at, so a traceback points into the document.
    script = "\n".join(f"# --- {where}\n{body}" for where, body in found)
    (tmp_path / "doc_example.py").write_text(script, encoding="utf-8")
    result = subprocess.run([sys.executable, "doc_example.py"], cwd=tmp_path, env=clean_env(tmp_path),
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, f"{doc} ({len(found)} blocks) failed:\n{result.stdout}\n{result.stderr}"


def test_the_python_api_page_is_executed():
    assert "docs/python-api.md" in PYTHON_DOCS
    bodies = "\n".join(body for where, body in blocks("python") if where.startswith("docs/python-api.md"))
    for step in ("api.load(", "api.plan(", "api.apply(", "on_event=", "secrets=", "result.report"):
        assert step in bodies, step
