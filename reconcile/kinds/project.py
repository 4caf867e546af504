"""Projects: identified by name; scopes, metadata and rate limit are updated in place.
Metadata is capped at 16 KiB as JSON; lowering the rate limit below the recent peak is an
impact warning."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from .base import (Endpoint, Field, KindApi, KindSpec, LiveContext, LiveItem, Meta, OwnershipMarker, RelPath,
                   default_from_live, sorted_set)
from .impact import TIMESERIES, WARNING, WINDOW_DAYS, AccountFacts, ChangeView, Finding, ImpactRule, when
from .vocab import SCOPES

# The metadata entry naming the stack that owns a project (see docs/stacks.md).
STACK_METADATA_KEY = "infrai-reconcile/stack"
# The project that is the account lease while an apply runs, and its record (apply/lease.py).
LEASE_PROJECT = "infrai-reconcile-lease"
LEASE_METADATA_KEY = "infrai-reconcile/lease"


def _from_live(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> LiveItem | None:
    # The lease is no one's config object: read once here, it is never listed, counted,
    # pruned, exported or reported as drift, whoever reads the account (apply/lease.py
    # reads it with its own list call).
    if raw.get("name") == LEASE_PROJECT:
        return None
    return default_from_live(kind, raw, ctx)


def _metadata_size(metadata: Any) -> Iterable[tuple[str, RelPath]]:
    """Project metadata is capped at 16 KiB as JSON by the API."""
    if isinstance(metadata, dict):
        size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())
        if size > 16 * 1024:
            yield f"metadata is {size} bytes as JSON; the API allows at most 16384", ()


def _lowered_rpm(c: ChangeView) -> tuple[int | None, int] | None:
    if c.action != "update" or "rate_limit_rpm" not in c.changed:
        return None
    before, after = c.before.get("rate_limit_rpm"), c.after.get("rate_limit_rpm")
    if not isinstance(after, int) or (isinstance(before, int) and after >= before):
        return None
    return before, after


def _needs(c: ChangeView) -> frozenset[str]:
    return frozenset({TIMESERIES}) if _lowered_rpm(c) is not None else frozenset()


def _impact(c: ChangeView, f: AccountFacts) -> list[Finding]:
    """rate_limit_rpm lowered below the busiest hour's average rpm: warning."""
    lowered = _lowered_rpm(c)
    peak = f.peak_hour()
    if lowered is None or peak is None or peak[1] <= lowered[1]:
        return []
    before, after = lowered
    return [Finding(WARNING, "project.rate_limit_below_peak",
                    f"rate_limit_rpm {before if before is not None else 'unlimited'} → {after}, below the recent peak: "
                    f"the busiest hour of the last {WINDOW_DAYS} days ({when(peak[0])}) averaged {peak[1]:,.1f} "
                    "requests/min. Usage is reported for the whole account, not per project, so this project's "
                    "own peak may be lower.")]


SCOPE_LIST = {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}}
PROTECT = Meta({"type": "boolean"}, "true makes any plan that would delete or replace this resource fail.")
# Kinds the API renames in place (their update takes `name`); see plan/moves.py.
RENAMED_FROM = Meta({"type": "string", "minLength": 1, "maxLength": 128},
                    "The name it had until now: the plan renames the live object in place (one update, same id) "
                    "instead of deleting it and creating a new one. Remove it once applied.")

PROJECT = KindSpec(
    name="project",
    title="project",
    config_key="projects",
    identity=("name",),
    depends_on=("tier",),
    description="A project groups API keys and carries scopes, metadata and a rate limit.",
    fields={
        "name": Field({"type": "string", "minLength": 1, "maxLength": 128}, required=True,
                      description="Unique in the account; the project's identity (to rename it, see `renamed_from`)."),
        "scopes": Field(SCOPE_LIST, normalize=sorted_set,
                        description="Scopes its keys may hold; empty means the whole module."),
        "metadata": Field({"type": "object", "maxProperties": 64, "propertyNames": {"maxLength": 64}},
                          validate=_metadata_size, description="Free-form key/value metadata."),
        "rate_limit_rpm": Field({"type": ["integer", "null"], "minimum": 1, "maximum": 1000000},
                                settable_on_create=False,
                                description="Requests per minute for the project's keys; null for unlimited."),
        "created_at": Field({"type": "string"}, computed=True),
    },
    ownership=OwnershipMarker(field="metadata", key=STACK_METADATA_KEY),
    meta={"protect": PROTECT, "renamed_from": RENAMED_FROM},
    from_live=_from_live,
    api=KindApi(
        list=Endpoint("GET", "/v1/account/projects/list"),
        create=Endpoint("POST", "/v1/account/projects/create"),
        update=Endpoint("PATCH", "/v1/account/projects/update/{id}"),
        delete=Endpoint("DELETE", "/v1/account/projects/delete/{id}"),
    ),
    impact=ImpactRule(_needs, _impact),
    tier_limit="projects",
)
