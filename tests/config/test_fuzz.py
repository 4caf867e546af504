"""Arbitrary input never escapes as anything but a DesiredState or our own errors."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config import load_config
from reconcile.errors import ConfigError
from reconcile.resources import DesiredState

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENV = {"A": "1", "S": "abcdefghij"}


def _load(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            result = load_config([path], env=ENV, variables={"v": [1, {"a": None}]})
        except ConfigError:  # ValidationError is one
            return
        assert isinstance(result, DesiredState)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _load(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`,?\t\n ${}envar:.0123456789")) | st.characters(),
               max_size=300))
def test_arbitrary_text(text: str) -> None:
    _load(text.encode("utf-8", "surrogatepass"))


_KEYS = st.sampled_from(["projects", "keys", "name", "scopes", "webhooks", "url", "events", "secret", "members",
                         "email", "role", "bandwidth_alerts", "threshold", "tier", "budget", "hard_cap_usd",
                         "routing", "pinned_vendors", "chain_override", "prune", "stack", "version", "metadata",
                         "headers", "rotate_after", "policy", "x"])
_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.sampled_from(["web", "account:read", "https://h.example.com/", "10GiB", "90d", "pro", "${env:A}",
                               "${env:S}", "${var:v}", "${env:NOPE}", "$${x", "a@b.co", "admin", "key.created"])
            | st.text(max_size=20))


def _structure() -> st.SearchStrategy[Any]:
    return st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(_KEYS, inner, max_size=5), max_leaves=30)


@FUZZ
@given(st.dictionaries(_KEYS, _structure(), max_size=6))
def test_arbitrary_yaml_structures(doc: dict[str, Any]) -> None:
    _load(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass"))
