"""YAML reading: positions, duplicate keys, hostile input, every failure located."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config import load_config
from reconcile.config.yaml_loader import MAX_FILE_BYTES, read_yaml_file, read_yaml_text
from reconcile.errors import ConfigError

from .conftest import at, one_error

# Every test runs over both YAML composers (libyaml and pure Python).
pytestmark = pytest.mark.usefixtures("yaml_path")


def test_positions_of_values_and_keys() -> None:
    doc = read_yaml_text("f.yaml", "projects:\n  - name: web\n    scopes: [a, b]\n")
    assert doc.value == {"projects": [{"name": "web", "scopes": ["a", "b"]}]}
    assert doc.positions[("projects", 0)] == (2, 5)
    assert doc.positions[("projects", 0, "scopes", 1)] == (3, 17)
    assert doc.key_positions[("projects", 0, "scopes")] == (3, 5)
    # Values made up later (from a ${var:...}) fall back to their nearest ancestor.
    assert str(doc.position(("projects", 0, "scopes", 1, "x"))) == "f.yaml:3:17"


def test_duplicate_key_in_mapping(write) -> None:
    p = write("a.yaml", """
        projects:
          - name: web
            name: api
    """)
    r = one_error(p)
    assert at(r) == ("a.yaml", 3, 5, "projects[0].name")
    assert "duplicate key 'name' (first defined at line 2, column 5)" in r.message


def test_alias_bomb_is_refused(write) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("policy: {bomb: *a8}")
    p = write("bomb.yaml", "\n".join(lines) + "\n")
    r = one_error(p)
    assert "expands to more than 100,000 values" in r.message
    assert r.source is not None and r.source.file.endswith("bomb.yaml") and r.source.line is not None


def test_deep_nesting_is_refused(write) -> None:
    p = write("deep.yaml", "policy: " + "[" * 100 + "]" * 100 + "\n")
    r = one_error(p)
    assert at(r) == ("deep.yaml", 1, 72, "")
    assert "nesting is deeper than 64 levels" in r.message


def test_very_deep_nesting_does_not_exhaust_the_stack(write) -> None:
    p = write("deeper.yaml", "policy: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert "nesting is deeper" in one_error(p).message


def test_recursive_alias_is_refused(write) -> None:
    p = write("rec.yaml", "policy: &a {x: *a}\n")
    assert "nesting is deeper than 64 levels" in one_error(p).message


def test_non_utf8_bytes_are_located(write) -> None:
    p = write("latin.yaml", "stack: ok\nprojects:\n  - name: caf\xe9\n".encode("latin-1"))
    r = one_error(p)
    assert at(r) == ("latin.yaml", 3, 14, "")
    assert "not valid UTF-8 (byte 0xe9)" in r.message


def test_utf8_bom_is_accepted(write) -> None:
    p = write("bom.yaml", "\ufeffstack: ok\n".encode("utf-8"))
    assert load_config([p], env={}).stack == "ok"


def test_syntax_error_is_located(write) -> None:
    p = write("syntax.yaml", "projects:\n  - name: web\n   scopes: [a\n")
    r = one_error(p)
    assert r.source is not None and r.source.line == 3
    assert r.message.startswith("YAML syntax error:")


def test_tab_indentation_is_located(write) -> None:
    p = write("tabs.yaml", "projects:\n\t- name: web\n")
    r = one_error(p)
    assert at(r)[:3] == ("tabs.yaml", 2, 1)
    assert "YAML syntax error" in r.message


def test_control_character_is_located(write) -> None:
    p = write("ctl.yaml", "stack: a\x07b\n")
    r = one_error(p)
    assert at(r)[:3] == ("ctl.yaml", 1, 9)
    assert "U+0007" in r.message


def test_empty_file_is_an_empty_config(write) -> None:
    p = write("empty.yaml", "")
    q = write("comments.yaml", "# nothing yet\n")
    state = load_config([p, q], env={})
    assert state.resources == {} and state.sources == (str(p), str(q))


def test_top_level_list_is_an_error(write) -> None:
    p = write("list.yaml", "- name: web\n")
    r = one_error(p)
    assert at(r) == ("list.yaml", 1, 1, "")
    assert "top level must be a mapping" in r.message and "not a list" in r.message


def test_file_too_large(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="larger than 10 MiB"):
        read_yaml_file(p)


def test_unsupported_tags_and_bad_numbers(write) -> None:
    assert "unsupported YAML tag" in one_error(write("t.yaml", "policy: {a: !!binary aGk=}\n")).message
    assert "unsupported YAML tag" in one_error(write("u.yaml", "policy: !custom {a: 1}\n")).message
    assert "cannot be read as a int" in one_error(write("v.yaml", "policy: {a: 0x_}\n")).message
    assert "not a finite number" in one_error(write("w.yaml", "budget: {hard_cap_usd: .inf}\n")).message


def test_merge_keys_and_plain_keys() -> None:
    doc = read_yaml_text("m.yaml", "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n  on: 4\n")
    assert doc.value["item"] == {"x": 1, "y": 3, "on": 4}
    assert doc.positions[("item", "y")] == (4, 6)


def test_dates_stay_text() -> None:
    assert read_yaml_text("d.yaml", "a: 2024-01-02\n").value == {"a": "2024-01-02"}


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r1 = one_error(tmp_path / "nope.yaml")
    assert r1.message == "no such file or directory" and r1.source is not None and r1.source.line is None
    assert "no *.yaml or *.yml file" in one_error(tmp_path / "empty").message


# -- limits sized for real accounts --------------------------------------------------------
def _account_text(projects: int, keys_per_project: int) -> str:
    """A config of projects × keys in the block style users write (built as text: fast)."""
    lines = ["version: 1", "projects:"]
    for p in range(projects):
        lines += [f"  - name: p{p:05d}", "    scopes: [account:read, keys:write]",
                  f"    metadata: {{team: team-{p % 17}, env: prod}}", "    keys:"]
        lines += [f"      - {{name: k{k:04d}}}" for k in range(keys_per_project)]
    return "\n".join(lines) + "\n"


def test_fifty_thousand_resources_load(tmp_path: Path, yaml_path: str) -> None:
    if yaml_path == "pure-python":
        pytest.skip("the same limits apply on both paths; once is enough for 50,000 resources")
    # 500 projects of 99 keys: 50,000 resources, ~200,000 values (over the old limit of 100,000).
    path = tmp_path / "big.yaml"
    path.write_text(_account_text(500, 99), encoding="utf-8")
    state = load_config([path], env={})
    assert len(state.resources) == 50_000
    assert state.resources["projects.p00499.keys.k0098"].values["name"] == "k0098"


def test_value_limit_names_itself_and_how_to_raise_it_without_blaming_aliases(write) -> None:
    p = write("many.yaml", _account_text(3, 10))
    r = one_error(p, env={"INFRAI_CONFIG_MAX_VALUES": "50"})
    assert r.message == ("the file holds more than 50 values; split the config into several files, "
                         "or raise the limit with INFRAI_CONFIG_MAX_VALUES=<count>")
    assert "alias" not in r.message and r.source is not None and r.source.line is not None
    assert len(load_config([p], env={"INFRAI_CONFIG_MAX_VALUES": "5000"}).resources) == 33


def test_alias_limit_can_be_raised(write) -> None:
    # (a valid policy: the loader checks the section as a policy file)
    p = write("anchors.yaml", "policy:\n  forbid:\n    projects: &a [create, update, replace, delete, rotate]\n"
                              "    keys: *a\n    members: *a\n    webhooks: *a\n")
    r = one_error(p, env={"INFRAI_CONFIG_MAX_ALIAS_VALUES": "10"})
    assert r.message.startswith("the document expands to more than 10 values through aliases")
    assert r.message.endswith("raise the limit with INFRAI_CONFIG_MAX_ALIAS_VALUES=<count>")
    assert load_config([p], env={}).settings["policy"]["forbid"]["webhooks"] == [
        "create", "update", "replace", "delete", "rotate"]


def test_file_size_limit_names_how_to_raise_it(write) -> None:
    p = write("sized.yaml", "stack: " + "a" * 40 + "\n")
    r = one_error(p, env={"INFRAI_CONFIG_MAX_BYTES": "20"})
    assert r.message == ("the file is larger than 20 bytes; split the config into several files, "
                         "or raise the limit with INFRAI_CONFIG_MAX_BYTES=<bytes>")


def test_a_bad_limit_setting_is_an_error(write) -> None:
    r = one_error(write("a.yaml", "stack: s\n"), env={"INFRAI_CONFIG_MAX_VALUES": "lots"})
    assert r.message == "INFRAI_CONFIG_MAX_VALUES must be a positive whole number, not 'lots'"
