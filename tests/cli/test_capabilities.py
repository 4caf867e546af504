"""docs/capabilities.md: every API capability with what the tool does with it, generated from
the code's own calls plus the hand-kept table, and current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import capabilities_page as page
from reconcile.kinds import capabilities as hand
from reconcile.kinds.capabilities import NOT_USED, CapabilityUse

# The seed's 56 capabilities as transcribed in the repository (tests/emulator/data/), a source
# independent of the OpenAPI document the page is generated from.
SEED_NAMES = {e["name"] for e in json.loads(
    (Path(__file__).parents[1] / "emulator" / "data" / "curl_examples.json").read_text(encoding="utf-8"))}


def test_capabilities_page_is_up_to_date():
    assert page.main(["--check"]) == 0, "run: python -m tools.capabilities_page"


def test_every_capability_of_the_seed_has_a_row_saying_what_the_tool_does():
    uses = page.table()
    assert len(SEED_NAMES) == 56 and set(uses) == SEED_NAMES
    assert all(uses[name] for name in SEED_NAMES)
    text = page.generate()
    assert all(f"| `{name}` |" in text for name in SEED_NAMES)
    assert page.problems() == []


def test_uses_come_from_the_code_where_the_code_calls_the_capability():
    uses = page.table()
    assert [u.use for u in uses["account.projects.update"]] == ["manages"]
    assert "`rate_limit_rpm`" in uses["account.projects.update"][0].what
    assert {u.use for u in uses["account.tier"]} == {"reads"} and len(uses["account.tier"]) == 4  # plan, impact, doctor, status
    assert [u.what for u in uses["account.projects.get"]] == [  # only doctor's deliberate 404
        "`reconcile doctor`: checks the answer against what the tool assumes (docs/doctor.md)"]
    assert [u.use for u in uses["account.keys.suspected_compromise"]] == ["command"]
    assert [u.use for u in uses["account.webhooks.retry"]] == [u.use for u in uses["account.webhooks.replay"]] == ["command"]
    assert [u.use for u in uses["account.subscription.get"]] == ["reads"]  # status reads it; nothing pays
    assert uses["account.subscription.retry_payment"][0].use == NOT_USED
    assert uses["account.topup"][0].use == NOT_USED and "moves money" in uses["account.topup"][0].what


def test_a_capability_missing_from_the_table_is_named(monkeypatch):
    table = dict(hand.HAND_KEPT)
    del table["account.topup"]
    monkeypatch.setattr(page, "HAND_KEPT", table)
    assert page.problems() == ["account.topup: neither the code nor HAND_KEPT says what the tool does with it"]
    assert page.main(["--check"]) == 1


def test_the_table_naming_a_capability_that_does_not_exist_is_named(monkeypatch):
    monkeypatch.setattr(page, "HAND_KEPT", {**hand.HAND_KEPT, "account.wallet.drain": CapabilityUse(NOT_USED, "x")})
    assert page.problems() == ["HAND_KEPT names account.wallet.drain, which the API does not have"]


def test_the_table_repeating_what_the_code_covers_is_named(monkeypatch):
    monkeypatch.setattr(page, "HAND_KEPT", {**hand.HAND_KEPT, "account.projects.list": CapabilityUse(NOT_USED, "x")})
    assert page.problems() == ["HAND_KEPT repeats account.projects.list, which the code already uses: remove the entry"]


@pytest.mark.parametrize("use", ["manage", ""])
def test_an_unknown_use_is_named(monkeypatch, use):
    monkeypatch.setattr(page, "HAND_KEPT", {**hand.HAND_KEPT, "account.topup": CapabilityUse(use, "x")})
    assert page.problems() == [f"HAND_KEPT['account.topup'].use is {use!r}, not one of {hand.USES}"]
