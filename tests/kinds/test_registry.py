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
    # The emulator is an independent model of the API and keeps its own copies.
    from reconcile.emulator import auth, routes_misc, routes_tier, routes_webhooks
    from reconcile.kinds import vocab

    assert set(vocab.SCOPES) == set(auth.SCOPES)
    assert set(vocab.WEBHOOK_EVENTS) == set(routes_webhooks.EVENTS)
    assert set(vocab.VENDORS) == set(routes_misc.VENDORS)
    assert set(vocab.MEMBER_ROLES) == set(routes_misc.ROLES)
    assert vocab.TIERS == routes_tier.TIERS


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


def test_kind_names_resolve_from_config_keys_or_names():
    from reconcile.errors import ReconcileError
    from reconcile.kinds import resolve_kind_names

    assert resolve_kind_names(["projects,keys", "webhook"], option="--prune", singletons=False) == {
        "project", "api_key", "webhook"}
    everything = resolve_kind_names(["all"], option="--prune", singletons=False)
    assert "budget" not in everything and "bandwidth_alert" in everything
    assert "budget" in resolve_kind_names(["budget"], option="--kinds", singletons=True)
    with pytest.raises(ReconcileError, match=r"--prune budget: unknown kind; use some of: projects, keys"):
        resolve_kind_names(["budget"], option="--prune", singletons=False)


def test_secret_env_names_are_shell_safe():
    from reconcile.resources import secret_env_name

    assert secret_env_name('webhooks["https://h.example.com/a"]', "secret") == "INFRAI_WEBHOOKS_HTTPS_H_EXAMPLE_COM_A_SECRET"
