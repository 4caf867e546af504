"""Projects and API keys: create/get/list/update/delete projects; create/list/update/
rotate/suspected_compromise/revoke keys (contract: "Project", "API key", "Key management").

`keys:write` is not every scope: a key that is not account-wide manages only keys of its own
project, never gives a key more than it holds itself, and never rotates, revokes, flags or
changes a key with more power than itself; with `projects:write` it may not widen a project
beyond its own scopes, nor change the scopes of, or delete, a project holding a stronger key.
"""

from __future__ import annotations

from typing import Any

from . import validation as v
from .auth import SCOPES, effective_scopes
from .clock import iso
from .context import Ctx, Outcome, capability, get_by_id, paged_list
from .errors import ApiError, conflict, not_found, validation_error
from .routes_webhooks import emit_event
from .store import new_id, new_key_secret

COMPROMISE_GRACE_SECONDS = 3600


def _scopes(ctx: Ctx, allowed: list[str] | None = None) -> list[str] | None:
    scopes = v.string_list(ctx.params, "scopes", choices=SCOPES)
    if scopes is None:
        return None
    if allowed:
        for index, scope in enumerate(scopes):
            if scope not in allowed:
                raise validation_error(f"scopes[{index}]", f"scope {scope!r} is not among the project's scopes")
    return sorted(set(scopes))


def _forbidden(message: str) -> ApiError:
    return ApiError(403, "INSUFFICIENT_SCOPE", message)


def _key_power(ctx: Ctx, key: dict[str, Any], scopes: list[str] | None = None) -> frozenset[str]:
    project = ctx.store.get("project", key["project_id"]) or {"scopes": []}
    return effective_scopes(key["scopes"] if scopes is None else scopes, project["scopes"])


def _check_key_power(ctx: Ctx, project_id: str, power: frozenset[str], action: str) -> None:
    """A caller acts on keys only of its own project (unless account-wide) and only on keys
    whose effective scopes it holds itself."""
    caller = ctx.caller
    if not caller.account_wide and project_id != caller.project_id:
        raise _forbidden(f"this key may {action} only keys of its own project {caller.project_id} "
                         "(an account-wide key may manage any project's keys)")
    excess = power - caller.effective
    if excess:
        raise _forbidden(f"this key may not {action} a key with more power than itself "
                         f"(scopes it lacks: {', '.join(sorted(excess))})")


def _check_project_power(ctx: Ctx, project: dict[str, Any], new_scopes: list[str] | None, action: str) -> None:
    """A caller that is not account-wide may not widen a project beyond its own scopes, nor
    change the scopes of (or delete) a project holding a key with more power than itself."""
    caller = ctx.caller
    if caller.account_wide:
        return
    if new_scopes is not None:
        excess = effective_scopes([], new_scopes) - caller.effective
        if excess:
            raise _forbidden(f"this key may not give a project scopes it lacks: {', '.join(sorted(excess))}"
                             + (" (empty scopes = the whole module)" if not new_scopes else ""))
    for key in ctx.store.all("key", parent=project["id"]):
        if key["status"] != "revoked" and effective_scopes(key["scopes"], project["scopes"]) - caller.effective:
            raise _forbidden(f"this key may not {action} project {project['id']}: it holds key "
                             f"{key['key_id']}, which has more power than the calling key")


def _project(ctx: Ctx, project_id: str) -> dict[str, Any]:
    project = ctx.store.get("project", project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


def _key(ctx: Ctx, key_id: str) -> dict[str, Any]:
    key = ctx.store.get("key", key_id)
    if key is None:
        raise not_found("key", key_id)
    return key


# -- projects ---------------------------------------------------------------------------
async def projects_create(ctx: Ctx) -> Outcome:
    name = v.string(ctx.params, "name", required=True, min_len=1, max_len=128)
    scopes = _scopes(ctx) or []
    metadata = v.metadata(ctx.params) or {}
    with ctx.store.tx():
        if ctx.store.uniq_taken("project", name):
            raise conflict(f"a project named {name!r} already exists", "name")
        project = {"id": new_id("proj"), "name": name, "scopes": scopes, "metadata": metadata,
                   "rate_limit_rpm": None, "created_at": iso(ctx.now)}
        ctx.store.insert("project", project["id"], project, uniq=name)
    return 200, project


async def projects_update(ctx: Ctx) -> Outcome:
    project = _project(ctx, ctx.path_id or "")
    name = v.string(ctx.params, "name", min_len=1, max_len=128)
    scopes = _scopes(ctx)
    metadata = v.metadata(ctx.params)
    rpm = v.number(ctx.params, "rate_limit_rpm", integer=True, minimum=1, maximum=1_000_000)
    if scopes is not None and scopes != project["scopes"]:
        _check_project_power(ctx, project, scopes, "change the scopes of")
    with ctx.store.tx():
        if name is not None and name != project["name"]:
            if ctx.store.uniq_taken("project", name, project["id"]):
                raise conflict(f"a project named {name!r} already exists", "name")
            project["name"] = name
        if scopes is not None:
            project["scopes"] = scopes
        if metadata is not None:
            project["metadata"] = metadata  # replaced as a whole, like every PATCH field
        if rpm is not None:
            project["rate_limit_rpm"] = rpm
        elif "rate_limit_rpm" in ctx.params:  # an explicit null lifts the limit
            project["rate_limit_rpm"] = None
        ctx.store.update(project["id"], project, uniq=project["name"])
    return 200, project


async def projects_delete(ctx: Ctx) -> Outcome:
    project = _project(ctx, ctx.path_id or "")
    if project["id"] == ctx.caller.project_id:
        raise conflict("cannot delete the project that holds the calling key")
    _check_project_power(ctx, project, None, "delete")
    with ctx.store.tx():
        for key in ctx.store.all("key", parent=project["id"]):
            if key["status"] != "revoked":
                key["status"] = "revoked"
                ctx.store.update(key["key_id"], key, state="revoked", uniq=None)
        ctx.store.delete(project["id"])
    return 200, {"deleted": True}


# -- keys -------------------------------------------------------------------------------
async def keys_create(ctx: Ctx) -> Outcome:
    project_id = v.string(ctx.params, "project_id", min_len=1, max_len=64) or ctx.caller.project_id
    project = ctx.store.get("project", project_id)
    if project is None:
        raise not_found("project", project_id)
    key_id = new_id("key")
    name = v.string(ctx.params, "name", min_len=1, max_len=128) or f"key-{key_id[4:10]}"
    scopes = _scopes(ctx, project["scopes"]) or []
    _check_key_power(ctx, project_id, effective_scopes(scopes, project["scopes"]), "create")
    secret = new_key_secret()
    with ctx.store.tx():
        if ctx.store.uniq_taken("key", f"{project_id}\0{name}"):
            raise conflict(f"an active key named {name!r} already exists in project {project_id}", "name")
        key = {"key_id": key_id, "name": name, "label": name, "project_id": project_id, "scopes": scopes,
               "status": "active", "created_at": iso(ctx.now), "last_rotated_at": None, "grace_expires_at": None}
        ctx.store.insert("key", key_id, key, parent=project_id, uniq=f"{project_id}\0{name}", state="active")
        ctx.store.add_secret(key_id, secret)
    await emit_event(ctx.emu, "key.created", {"key_id": key_id, "project_id": project_id})
    return 200, {**key, "key_secret": secret}


async def keys_list(ctx: Ctx) -> Outcome:
    # Documented without pagination: every key unless `cursor`/`limit` (the extension) is given.
    cursor, limit = v.page_params(ctx.params)
    paged = "cursor" in ctx.params or "limit" in ctx.params
    project_id = v.string(ctx.params, "project_id", min_len=1, max_len=64)
    include_revoked = v.boolean(ctx.params, "include_revoked", default=False)
    return 200, ctx.store.page_text(
        "key", cursor=cursor, limit=limit if paged else None, parent=project_id,
        exclude_state=None if include_revoked else "revoked",
    )


def _live_key(ctx: Ctx) -> dict[str, Any]:
    key = _key(ctx, ctx.path_id or "")
    if key["status"] == "revoked":
        raise conflict(f"key {key['key_id']} is revoked")
    return key


async def keys_update(ctx: Ctx) -> Outcome:
    key = _live_key(ctx)
    name = v.string(ctx.params, "name", min_len=1, max_len=128)
    project = ctx.store.get("project", key["project_id"]) or {"scopes": []}
    scopes = _scopes(ctx, project["scopes"])
    _check_key_power(ctx, key["project_id"], _key_power(ctx, key), "update")
    if scopes is not None:
        _check_key_power(ctx, key["project_id"], effective_scopes(scopes, project["scopes"]), "widen")
    with ctx.store.tx():
        if name is not None and name != key["name"]:
            if ctx.store.uniq_taken("key", f"{key['project_id']}\0{name}", key["key_id"]):
                raise conflict(f"an active key named {name!r} already exists in project {key['project_id']}", "name")
            key["name"] = key["label"] = name
        if scopes is not None:
            key["scopes"] = scopes
        ctx.store.update(key["key_id"], key, uniq=f"{key['project_id']}\0{key['name']}")
    return 200, key


def _expire_old_secrets(ctx: Ctx, key_id: str, at: float) -> None:
    """Old secrets stay valid until `at` (never extended past an earlier expiry)."""
    ctx.store.conn.execute(
        "UPDATE key_secrets SET expires_at = ? WHERE key_id = ? AND (expires_at IS NULL OR expires_at > ?)",
        (at, key_id, at),
    )


async def keys_rotate(ctx: Ctx) -> Outcome:
    key = _live_key(ctx)
    _check_key_power(ctx, key["project_id"], _key_power(ctx, key), "rotate")
    grace_hours = v.number(ctx.params, "grace_hours", minimum=0, maximum=168, default=24)
    expires = ctx.now + grace_hours * 3600
    secret = new_key_secret()
    with ctx.store.tx():
        _expire_old_secrets(ctx, key["key_id"], expires)
        ctx.store.add_secret(key["key_id"], secret)
        key["last_rotated_at"] = iso(ctx.now)
        key["grace_expires_at"] = iso(expires)
        ctx.store.update(key["key_id"], key)
    await emit_event(ctx.emu, "key.rotated", {"key_id": key["key_id"], "grace_expires_at": key["grace_expires_at"]})
    return 200, {**key, "key_secret": secret}


async def keys_suspected_compromise(ctx: Ctx) -> Outcome:
    key = _live_key(ctx)
    _check_key_power(ctx, key["project_id"], _key_power(ctx, key), "report")
    confirmed = v.boolean(ctx.params, "confirmed_leak", default=False)
    auto_rotate = v.boolean(ctx.params, "auto_rotate", default=True)
    result = dict(key)
    with ctx.store.tx():
        if auto_rotate:
            expires = ctx.now if confirmed else ctx.now + COMPROMISE_GRACE_SECONDS
            _expire_old_secrets(ctx, key["key_id"], expires)
            secret = new_key_secret()
            ctx.store.add_secret(key["key_id"], secret)
            key.update(status="active", last_rotated_at=iso(ctx.now), grace_expires_at=iso(expires))
            ctx.store.update(key["key_id"], key, state="active")
            result = {**key, "key_secret": secret}
        elif confirmed:
            key["status"] = "revoked"
            ctx.store.update(key["key_id"], key, state="revoked", uniq=None)
            result = key
        else:
            key["status"] = "flagged"
            ctx.store.update(key["key_id"], key, state="flagged")
            result = key
    await emit_event(ctx.emu, "key.compromised",
                     {"key_id": key["key_id"], "confirmed_leak": confirmed, "auto_rotate": auto_rotate})
    return 200, result


async def keys_revoke(ctx: Ctx) -> Outcome:
    key = _key(ctx, ctx.path_id or "")
    if key["key_id"] == ctx.caller.key_id:
        raise conflict("cannot revoke the key making this request")
    _check_key_power(ctx, key["project_id"], _key_power(ctx, key), "revoke")
    if key["status"] != "revoked":
        with ctx.store.tx():
            key["status"] = "revoked"
            ctx.store.update(key["key_id"], key, state="revoked", uniq=None)
        await emit_event(ctx.emu, "key.revoked", {"key_id": key["key_id"]})
    return 200, {"revoked": True}


P = "/v1/account"
CAPABILITIES = (
    capability("account.projects.create", "POST", f"{P}/projects/create", projects_create, "projects:write"),
    capability("account.projects.get", "GET", f"{P}/projects/get/{{id}}", get_by_id("project", "project"), id_field="project_id"),
    capability("account.projects.list", "GET", f"{P}/projects/list", paged_list("project")),
    capability("account.projects.update", "PATCH", f"{P}/projects/update/{{id}}", projects_update,
               "projects:write", "project_id"),
    capability("account.projects.delete", "DELETE", f"{P}/projects/delete/{{id}}", projects_delete,
               "projects:write", "project_id"),
    capability("account.keys.create", "POST", f"{P}/keys/create", keys_create, "keys:write"),
    capability("account.keys.list", "GET", f"{P}/keys/list", keys_list),
    capability("account.keys.update", "PATCH", f"{P}/keys/update/{{id}}", keys_update, "keys:write", "key_id"),
    capability("account.keys.rotate", "POST", f"{P}/keys/rotate/{{id}}", keys_rotate, "keys:write", "key_id"),
    capability("account.keys.suspected_compromise", "POST", f"{P}/keys/suspected_compromise/{{id}}",
               keys_suspected_compromise, "keys:write", "key_id"),
    capability("account.keys.revoke", "DELETE", f"{P}/keys/revoke/{{id}}", keys_revoke, "keys:write", "key_id"),
)
