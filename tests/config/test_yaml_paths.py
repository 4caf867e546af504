"""libyaml and pure-Python composing give the same document, messages and positions.

`read_yaml_text` composes with libyaml when PyYAML has it and falls back to PyYAML's
pure-Python composer otherwise, or whenever libyaml refuses the input or a guard trips.
Each case here is read both ways and compared whole: the value, every value's and every
key's position, or the error's message, position and path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config import yaml_loader
from reconcile.config.yaml_loader import MAX_DEPTH, read_yaml_text
from reconcile.errors import ConfigError

pytestmark = pytest.mark.skipif(not yaml_loader.LIBYAML, reason="PyYAML is built without libyaml here")

ROOT = Path(__file__).resolve().parents[2]
CORPUS_FILES = sorted([*(ROOT / "tests" / "fixtures" / "config").glob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")])


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines + ["policy: {bomb: *a8}"]) + "\n"


def _block(levels: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels - 1)) + "  " * (levels - 1) + "leaf\n"


# The hostile and odd inputs of test_yaml_loader.py, and the edges of each guard.
HOSTILE = {
    "duplicate key": "projects:\n  - name: web\n    name: api\n",
    "alias bomb": _bomb(),
    "deep flow": "policy: " + "[" * 100 + "]" * 100 + "\n",
    "very deep flow": "policy: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "flow at the depth limit": "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
    "flow one over the limit": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
    "block at the depth limit": _block(MAX_DEPTH),
    "block one over the limit": _block(MAX_DEPTH + 1),
    "block very deep": _block(3000),
    "alias at the depth limit": "a: &x [1]\nb: " + "[" * (MAX_DEPTH - 2) + "*x" + "]" * (MAX_DEPTH - 2) + "\n",
    "alias one over the limit": "a: &x [1]\nb: " + "[" * (MAX_DEPTH - 1) + "*x" + "]" * (MAX_DEPTH - 1) + "\n",
    "key over the limit": "[" * (MAX_DEPTH - 1) + "{k: v}" + "]" * (MAX_DEPTH - 1) + "\n",
    "merge lists nested": "x: " + "{<<: [" * 40 + "{a: 1}" + "]}" * 40 + "\n",
    "recursive alias": "policy: &a {x: *a}\n",
    "recursive alias in a list": "a: &l [1, *l]\n",
    "syntax error": "projects:\n  - name: web\n   scopes: [a\n",
    "tab indentation": "projects:\n\t- name: web\n",
    "control character": "stack: a\x07b\n",
    "nul": "a: x\x00y\n",
    "noncharacter": "a: x\ufffey\n",
    "next line": "a: x\x85y\nb: 1\n",
    "line separator": "a: x\u2028y\n",
    "non-ascii columns": "a: café\nb: [x, éé, 🔥, y]\n\"ключ\": {ω: 1}\n",
    "empty": "",
    "comment only": "# nothing\n",
    "top-level list": "- name: web\n",
    "binary tag": "policy: {a: !!binary aGk=}\n",
    "custom tag": "policy: !custom {a: 1}\n",
    "bad int": "policy: {a: 0x_}\n",
    "infinity": "budget: {hard_cap_usd: .inf}\n",
    "merge keys": "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n  on: 4\n",
    "merge of a scalar": "a: {<<: 1}\n",
    "complex key": "? [a, b]\n: 1\n",
    "dates and numbers": "a: 2024-01-02\nb: 0o17\nc: 1_000\nd: 0x1F\ne: 1e3\nf: ~\ng: yes\nh: '1'\n",
    "block scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "unknown directive version": "%YAML 2.0\n---\na: 1\n",
    "undefined alias": "a: *nope\n",
    "anchors redefined": "a: &x 1\nb: &x 2\nc: *x\n",
    "flow mapping in sequence": "- a: 1\n  b: [c, {d: e}]\n- ? f\n",
    "colon in flow": "a: {b:c}\nd: [e:f]\n",
}


def _read(text: str, libyaml: bool) -> dict[str, Any]:
    """Everything a reader of the document can observe."""
    try:
        doc = read_yaml_text("f.yaml", text, libyaml=libyaml)
    except ConfigError as exc:
        r = exc.reason
        return {"error": (r.message, r.source.line if r.source else None, r.source.column if r.source else None,
                          r.path)}
    return {"value": doc.value, "positions": doc.positions, "key_positions": doc.key_positions}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_read_the_same_both_ways(name: str) -> None:
    text = HOSTILE[name]
    assert _read(text, True) == _read(text, False)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixtures_and_examples_read_the_same_both_ways(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = _read(text, True)
    assert fast == _read(text, False)
    assert "value" in fast
    # And the libyaml path did read them itself (no silent fallback).
    assert yaml_loader._read_with_libyaml("f.yaml", text, yaml_loader.Limits()) is not None


def test_a_generated_account_reads_the_same_both_ways() -> None:
    import yaml

    projects = [{"name": f"p{p}", "scopes": ["account:read"], "metadata": {"team": f"t{p}"},
                 "keys": [{"name": f"k{k}", "scopes": ["account:read", "keys:write"]} for k in range(20)]}
                for p in range(20)]
    text = yaml.safe_dump({"version": 1, "projects": projects}, default_flow_style=None, sort_keys=False)
    assert _read(text, True) == _read(text, False)


# YAML's indicators and the characters where the two parsers were found to differ.
_PIECES = (list("ab:-[]{}&*!|>'\"#%?,.\t\n 0123456789<") + ["\n  ", ": ", "- ", "\n- ", "&x ", "*x", "<<: ", "\\",
           "\r\n", "~", "null", "é", "\x85", "\u2028", "\ufeff", "---", "...", "|-", ">+"])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES) | st.characters(), max_size=60).map("".join))
def test_arbitrary_text_reads_the_same_both_ways(text: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")  # files are UTF-8: no lone surrogates
    assert _read(text, True) == _read(text, False)
