"""API keys: identified by project and name; scopes update in place; secrets returned once.

A key lives in a project, so its identity is (project name, key name) and its create call
needs the project's id, known only once the project exists: the executor resolves it.
Its scopes must lie within the project's; the policy can require a `rotate_after`.
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import (
    ApiCall,
    Endpoint,
    Field,
    Identity,
    IdResolver,
    KindApi,
    KindSpec,
    LiveContext,
    LiveItem,
    Meta,
    OwnershipMarker,
    sorted_set,
)
from .project import PROJECT, PROTECT, RENAMED_FROM, SCOPE_LIST
from .units import DURATION_PATTERN, parse_duration_hours

# Hours the old secret stays valid after a rotation when `grace_hours` is not declared.
DEFAULT_GRACE_HOURS = 24


def _from_live(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> LiveItem | None:
    if raw.get("status") == "revoked":
        return None
    project = ctx.project_names.get(str(raw.get("project_id")))
    name = raw.get("name", raw.get("label"))
    values = {"project": project, "name": name, "scopes": sorted_set(raw.get("scopes") or [])}
    for k in ("created_at", "last_rotated_at", "status"):
        if k in raw:
            values[k] = raw[k]
    return LiveItem((project, name), values, raw.get("key_id"), raw, raw.get("project_id"))


def _create_calls(kind: KindSpec, values: Mapping[str, Any], identity: Identity, ids: IdResolver) -> list[ApiCall]:
    body = {"project_id": ids.id_of(PROJECT.address(identity[:1])), "name": values["name"]}
    if "scopes" in values:
        body["scopes"] = values["scopes"]
    return [ApiCall("POST", "/v1/account/keys/create", body, "create API key")]


def _rotate_calls(kind: KindSpec, meta: Mapping[str, Any], live_id: str | None) -> list[ApiCall]:
    assert kind.api.rotate is not None
    grace = meta.get("grace_hours", DEFAULT_GRACE_HOURS)
    return [ApiCall(kind.api.rotate.method, kind.api.rotate.path, {"grace_hours": grace}, "rotate")]


def _rotate_after(limit_days: float, change: Mapping[str, Any]) -> list[str]:
    """Policy `max_key_rotate_after_days`: every key created or changed declares
    rotate_after of at most N days."""
    value = (change.get("settings") or {}).get("rotate_after")
    if value is None:
        return [f"declares no rotate_after; the policy requires one of at most {limit_days:g} days"]
    try:
        days = parse_duration_hours(value) / 24
    except ValueError:
        return [f"rotate_after {value!r} is not a duration"]
    if days <= limit_days:
        return []
    return [f"rotate_after {value} is {days:g} days; the policy allows at most {limit_days:g}"]


API_KEY = KindSpec(
    name="api_key",
    title="API key",
    config_key="keys",
    identity=("project", "name"),
    parent="project",
    depends_on=("project",),
    description="An API key of a project. Its secret is returned once, on create and on rotation.",
    fields={
        "project": Field({"type": "string"}, required=True, updatable=False,
                         description="The project's name (implied by nesting under it)."),
        "name": Field({"type": "string", "minLength": 1, "maxLength": 128}, required=True,
                      description="Unique among the project's active keys; the key's identity."),
        "scopes": Field(SCOPE_LIST, normalize=sorted_set,
                        description="A subset of the project's scopes; empty means all of them."),
        "key_secret": Field({"type": "string"}, computed=True, sensitive=True,
                            description="Returned once on create or rotation; written to the secret sinks."),
        "created_at": Field({"type": "string"}, computed=True),
        "last_rotated_at": Field({"type": ["string", "null"]}, computed=True),
        "status": Field({"type": "string"}, computed=True),
    },
    ownership=OwnershipMarker(inherit=True),
    meta={
        "protect": PROTECT,
        "renamed_from": RENAMED_FROM,
        "rotate_after": Meta({"type": ["string", "integer"], "pattern": DURATION_PATTERN},
                             "Rotate the key once it is older than this (e.g. 90d) since creation or its last rotation."),
        "grace_hours": Meta({"type": "integer", "minimum": 0, "maximum": 168},
                            "Hours the old secret stays valid after a rotation (0-168, default 24)."),
    },
    api=KindApi(
        # Documented without pagination: one GET returns every key (docs/emulator.md). Read
        # that way, not in pages of 1,000 behind a cursor: pages are sequential, and the
        # keys are most of a big account (9 pages = 9 round trips on a 10,000-resource plan).
        list=Endpoint("GET", "/v1/account/keys/list"),
        paginated=False,
        create=Endpoint("POST", "/v1/account/keys/create"),
        update=Endpoint("PATCH", "/v1/account/keys/update/{id}"),
        delete=Endpoint("DELETE", "/v1/account/keys/revoke/{id}"),
        rotate=Endpoint("POST", "/v1/account/keys/rotate/{id}"),
        id_field="key_id",
    ),
    delete_is_irreversible=True,
    secret_outputs=("key_secret",),
    from_live=_from_live,
    create_calls=_create_calls,
    rotate_calls=_rotate_calls,
    within_parent=("scopes",),
    policy={"max_key_rotate_after_days": _rotate_after},
    tier_limit="keys_per_project",
)
