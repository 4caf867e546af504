"""The compiled schema check never calls valid what jsonschema calls invalid, and the
loader's per-item use of jsonschema finds exactly the errors a whole-document run finds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config.loader import schema_errors
from reconcile.config.schema import build_schema
from reconcile.config.schema_check import compile_schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
SCHEMA = build_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CHECK = compile_schema(SCHEMA)

VALID = {
    "version": 1, "stack": "web-platform", "prune": ["projects", "keys"], "tier": "pro",
    "budget": {"period": "monthly", "hard_cap_usd": 500, "alert_threshold_usd": 400},
    "routing": {"chain_override": ["openai", "anthropic"], "pinned_vendors": ["openai"]},
    "projects": [{"name": "web", "scopes": ["account:read", "keys:write"], "rate_limit_rpm": 600,
                  "metadata": {"team": "web"}, "protect": True,
                  "keys": [{"name": "ci", "scopes": ["account:read"], "rotate_after": "90d", "grace_hours": 24}]}],
    "webhooks": [{"url": "https://hooks.example.com/x", "events": ["budget.alert"], "headers": {"X-A": "b"}}],
    "members": [{"email": "ops@example.com", "role": "admin"}],
    "bandwidth_alerts": [{"threshold": "10GiB"}, {"threshold": 1000}],
    "secrets": {"sinks": [{"file": "./s.json"}, {"exec": ["cat"], "timeout": 5}]},
    "policy": {"max_deletes": 5},
}

_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**60, max_value=2**60) | st.floats(allow_nan=False)
            | st.sampled_from(["", "web", "account:read", "keys:write", "https://h.example.com/", "http://x", "10GiB",
                               "90d", "0d", "pro", "monthly", "admin", "a@b.co", "budget.alert", "x" * 300, "openai"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(["name", "scopes", "url", "x", "keys", "threshold", "events",
                                                          "role", "email", "file", "exec"]), inner, max_size=3),
                       max_leaves=8)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, path + (i,))
    return out


@st.composite
def _mutated(draw: st.DrawFn) -> Any:
    """VALID with a few values replaced, keys added or values removed."""
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "add", "remove"]))
        if action == "replace":
            parent[path[-1]] = draw(_VALUES)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "name", "keys", "scopes", "metadata"]))] = draw(_VALUES)
        elif action == "remove":
            del parent[path[-1]]
    return doc


def _whole(value: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(map(str, e.absolute_path)), e.validator, e.message) for e in VALIDATOR.iter_errors(value))


def _split(value: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(map(str, e.absolute_path)), e.validator, e.message) for e in schema_errors(value))


def test_valid_documents_pass_the_compiled_check() -> None:
    assert VALIDATOR.is_valid(VALID) and CHECK(VALID)
    full = yaml.safe_load((FIXTURES / "full.yaml").read_text())
    full["webhooks"][0]["secret"] = "s3cret-value-1234"
    full["projects"][0]["rate_limit_rpm"] = 600
    assert VALIDATOR.is_valid(full) and CHECK(full)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_compiled_check_is_never_more_lenient_than_jsonschema(doc: Any) -> None:
    if CHECK(doc):
        assert VALIDATOR.is_valid(doc), _whole(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated() | _VALUES)
def test_per_item_validation_finds_the_same_errors(doc: Any) -> None:
    assert _split(doc) == _whole(doc)


def test_compiled_check_of_each_keyword() -> None:
    check = compile_schema({"type": "object", "additionalProperties": False, "required": ["a"], "properties": {
        "a": {"type": "integer", "minimum": 1, "exclusiveMaximum": 10},
        "b": {"type": "array", "items": {"enum": ["x", "y"]}, "uniqueItems": True, "maxItems": 2},
        "c": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^z", "maxLength": 3}]},
        "d": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
        "e": {"type": "object", "propertyNames": {"maxLength": 2}, "maxProperties": 1},
        "f": {"const": 1}, "g": {"format": "email"}, "h": {"unknownKeyword": 1}}})
    assert check({"a": 1}) and check({"a": 9.0, "b": ["x", "y"], "c": "zz", "e": {"ab": 1}, "f": 1, "g": "no"})
    for bad in ({}, {"a": 0}, {"a": 10}, {"a": True}, {"a": 1, "z": 1}, {"a": 1, "b": ["x", "x"]},
                {"a": 1, "b": ["q"]}, {"a": 1, "b": ["x", "y", "x"]}, {"a": 1, "c": "zzzz"}, {"a": 1, "c": "y"},
                {"a": 1, "d": 1}, {"a": 1, "e": {"abc": 1}}, {"a": 1, "e": {"a": 1, "b": 2}}, {"a": 1, "f": True},
                {"a": 1, "h": 1}):
        assert not check(bad), bad
