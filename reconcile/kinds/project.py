"""Projects: identified by name; scopes, metadata and rate limit are updated in place."""

from __future__ import annotations

from typing import Any, Mapping

from .base import Endpoint, Field, KindApi, KindSpec, LiveContext, LiveItem, Meta, OwnershipMarker, default_from_live, sorted_set
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
                          description="Free-form key/value metadata."),
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
)
