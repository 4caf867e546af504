"""API keys: identified by project and name; scopes update in place; secrets returned once.

A key lives in a project, so its identity is (project name, key name) and its create call
needs the project's id, known only once the project exists: the executor resolves it.
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
from .units import DURATION_PATTERN


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
)
