"""`live.normalise` as data: raw answers in, LiveState out (tests/live/normalise_cases.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.errors import MalformedResponse
from reconcile.live.normalise import normalise

CASES = yaml.safe_load((Path(__file__).parent / "normalise_cases.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalise(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(MalformedResponse) as info:
            normalise(case["raw"], case["who"], case["kinds"])
        assert str(info.value) == expect["error"]
        return
    state = normalise(case["raw"], case["who"], case["kinds"])
    assert set(state.resources) == set(expect["resources"])
    for address, want in expect["resources"].items():
        got = state.resources[address]
        assert got.id == want["id"]
        assert {k: got.values.get(k, "<missing>") for k in want["values"]} == want["values"]
    for address, fields in expect.get("absent", {}).items():
        assert not set(fields) & set(state.resources[address].values)
    assert [d.id for d in state.duplicates] == expect.get("duplicates", [])
    if "caller" in expect:
        assert (state.caller_key_id, state.caller_project_id) == (expect["caller"]["key_id"],
                                                                  expect["caller"]["project_id"])
    if "facts" in expect:
        assert state.facts == expect["facts"]
    assert state.kinds_read == set(expect.get("kinds_read", case["kinds"]))


def test_the_base_url_and_redactor_shape_the_error() -> None:
    with pytest.raises(MalformedResponse) as info:
        normalise({"webhook": [7]}, {}, ["webhook"], base_url="https://api.example.test",
                  redact=lambda text: text.replace("webhooks", "***"))
    assert str(info.value) == "GET https://api.example.test/v1/account/***/list: item 1 is not an object " \
                              "(the API is misbehaving)"
