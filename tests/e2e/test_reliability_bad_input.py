"""Bad input through the real CLI: never a traceback, never a hang, a located error, exit 1.

tests/config/ fuzzes the loader as a library and pins single cases (test_yaml_loader.py:
one alias bomb, one deep nesting, one non-UTF-8 file). This file drives `reconcile
validate` and `reconcile plan --local` (the click entry point, in process) with
hypothesis-generated families of the same hazards and asserts what a user sees: exit
status 1, `Error:` with `FILE:LINE` of the offending spot, and no Python traceback.
Bounded: a fixed number of examples per family and a per-test timeout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.cli.main import cli

BOUNDED = settings(max_examples=20, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ODD = st.sampled_from(["\u202e", "\u0000", "\ufeff", "\u200b", "\U0001f525", "\u0301", "\x85", "\u2028", "é", "Ω"])


def _check(tmp_path: Path, data: bytes, secret_scan) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    runner = CliRunner()
    for args in (["validate", str(path)], ["plan", str(path), "--local", str(tmp_path / "bad.db")]):
        result = runner.invoke(cli, args, catch_exceptions=True)
        secret_scan.output(f"reconcile {args[0]} (bad input)", result.stdout, result.stderr)
        shown = result.stdout + result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{args[0]} raised {type(result.exception).__name__}: {result.exception}"
        assert "Traceback" not in shown, shown[-2000:]
        assert result.exit_code == 1, (args[0], result.exit_code, shown[-2000:])
        assert re.search(re.escape(str(path)) + r":\d+", shown), f"{args[0]}: no FILE:LINE in\n{shown[-2000:]}"


VALID = "version: 1\nprojects:\n  - name: web\n    rate_limit_rpm: 60\n    keys:\n      - name: ci\n"
WRONG = (st.integers() | st.booleans() | st.lists(st.integers(), max_size=3) | st.dictionaries(st.text(max_size=3),
         st.integers(), min_size=1, max_size=2)).map(repr)


@pytest.mark.timeout(120)
@BOUNDED
@given(field=st.sampled_from(["name: web", "rate_limit_rpm: 60", "name: ci", "version: 1"]),
       value=st.sampled_from(["[1, 2]", "{a: 1}", "true", "-1", "''", "[[]]", "{}"]))  # null is "unset" for an optional field: valid
def test_wrong_types(tmp_path_factory, secret_scan, field, value):
    text = VALID.replace(field, field.split(":")[0] + ": " + value, 1)
    _check(tmp_path_factory.mktemp("wrong"), text.encode(), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(digits=st.integers(20, 5000), length=st.integers(129, 100_000))
def test_huge_values(tmp_path_factory, secret_scan, digits, length):
    _check(tmp_path_factory.mktemp("huge"), VALID.replace("60", "9" * digits).encode(), secret_scan)
    _check(tmp_path_factory.mktemp("huge"), VALID.replace("name: ci", "name: " + "k" * length).encode(), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(depth=st.integers(30, 20_000), flow=st.booleans())
def test_deep_nesting(tmp_path_factory, secret_scan, depth, flow):
    nested = "[" * depth + "]" * depth if flow else "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(min(depth, 400))) + " 1"
    _check(tmp_path_factory.mktemp("deep"), (VALID + "metadata: " + nested + "\n").encode(), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(odd=st.lists(ODD, min_size=1, max_size=5).map("".join), where=st.sampled_from(["key", "role", "event"]))
def test_odd_unicode(tmp_path_factory, secret_scan, odd, where):
    text = {"key": VALID + f'"x{odd}": 1\n',
            "role": VALID + f'members:\n  - email: a@example.com\n    role: "adm{odd}in"\n',
            "event": VALID + f'webhooks:\n  - url: https://h.example.com/\n    events: ["key.{odd}"]\n'}[where]
    _check(tmp_path_factory.mktemp("odd"), text.encode("utf-8", "surrogatepass"), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(line=st.sampled_from(["version: 1", "    rate_limit_rpm: 60", "      - name: ci", "    keys:"]),
       value=st.sampled_from(["1", "[]", "x", "{}"]), odd=st.sampled_from(["", "  # again"]))
def test_duplicate_keys(tmp_path_factory, secret_scan, line, value, odd):
    """The same key twice in one mapping (the second with any value) is an error, not "last wins"."""
    key = line.split(":")[0]
    indent = key.replace("- ", "  ")
    text = VALID.replace(line + "\n", f"{line}\n{indent}: {value}{odd}\n" if not line.endswith(":") else
                         f"{key}: {value}{odd}\n{line}\n", 1)
    _check(tmp_path_factory.mktemp("dup"), text.encode(), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(levels=st.integers(3, 9), fan=st.integers(2, 9))
def test_alias_bombs(tmp_path_factory, secret_scan, levels, fan):
    text = "version: 1\nx0: &x0 [lol]\n" + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * fan)}]\n" for i in range(1, levels)) + f"projects: *x{levels - 1}\n"
    _check(tmp_path_factory.mktemp("bomb"), text.encode(), secret_scan)


@pytest.mark.timeout(120)
@BOUNDED
@given(position=st.integers(0, len(VALID)), junk=st.binary(min_size=1, max_size=4).filter(
    lambda b: not _decodes(b)))
def test_non_utf8_bytes(tmp_path_factory, secret_scan, position, junk):
    data = VALID.encode()
    _check(tmp_path_factory.mktemp("bytes"), data[:position] + junk + data[position:], secret_scan)


def _decodes(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
