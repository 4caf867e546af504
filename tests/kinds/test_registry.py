"""The registry checked like a provider schema (terraform's ValidateImplementation)."""

import dataclasses

import pytest

from reconcile.errors import KindDefinitionError
from reconcile.kinds import KINDS, LEVELS, REGISTRY, Field, check_registry, dependency_levels
from reconcile.kinds.units import format_size, parse_duration_hours, parse_size


def test_every_kind_is_consistent():
    check_registry()


def test_contradictory_field_is_reported_as_our_bug():
    bad = dataclasses.replace(REGISTRY["project"], fields={**REGISTRY["project"].fields,
                              "x": Field({"type": "string"}, computed=True, required=True)})
    with pytest.raises(KindDefinitionError, match="'x' is both computed and required"):
        bad.check()


def test_cycles_are_rejected():
    a = dataclasses.replace(REGISTRY["project"], depends_on=("webhook",))
    w = dataclasses.replace(REGISTRY["webhook"], depends_on=("project",))
    kinds = tuple(a if k.name == "project" else w if k.name == "webhook" else k for k in KINDS)
    with pytest.raises(KindDefinitionError, match="cycle"):
        dependency_levels(kinds)


def test_keys_come_after_projects():
    assert LEVELS["api_key"] > LEVELS["project"] > LEVELS["tier"]


def test_vocabularies_match_the_emulator():
    from reconcile.emulator import vocab as emulator_vocab  # the emulator keeps its own copy
    from reconcile.kinds import vocab

    for name in ("SCOPES", "WEBHOOK_EVENTS", "VENDORS", "MEMBER_ROLES", "TIERS"):
        assert set(getattr(vocab, name)) == set(getattr(emulator_vocab, name)), name


@pytest.mark.parametrize("text,n", [("10GiB", 10 * 2**30), ("500MB", 500 * 10**6), ("1.5KiB", 1536), (42, 42)])
def test_sizes(text, n):
    assert parse_size(text) == n


def test_size_round_trip_and_errors():
    assert format_size(10 * 2**30) == "10GiB"
    with pytest.raises(ValueError, match="not a size"):
        parse_size("10 parsecs")
    assert parse_duration_hours("90d") == 2160
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_hours("soon")
