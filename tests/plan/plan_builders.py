"""Builders for desired and live states, so planner tests read as data."""

from __future__ import annotations

from typing import Any


from reconcile.kinds import REGISTRY, LiveContext
from reconcile.kinds.base import default_from_live
from reconcile.resources import DesiredResource, DesiredState, LiveResource, LiveState


def desired(*resources: DesiredResource, prune: set[str] | None = None) -> DesiredState:
    return DesiredState({r.address: r for r in resources}, prune=prune or set())


def want(kind: str, meta: dict[str, Any] | None = None, **values: Any) -> DesiredResource:
    spec = REGISTRY[kind]
    values = spec.normalize(values)
    return DesiredResource(kind, tuple(values[k] for k in spec.identity), values, meta or {})


def live(*raws: tuple[str, dict[str, Any]], caller_key: str | None = None) -> LiveState:
    projects = {r["id"]: r["name"] for k, r in raws if k == "project"}
    ctx = LiveContext(project_names=projects)
    state = LiveState(caller_key_id=caller_key, kinds_read={k.name for k in REGISTRY.values()})
    for kind, raw in raws:
        spec = REGISTRY[kind]
        item = (spec.from_live or default_from_live)(spec, raw, ctx)
        if item is None:
            continue
        res = LiveResource(kind, spec.address(item.identity), item)
        if res.address in state.resources:
            state.duplicates.append(res)
        else:
            state.resources[res.address] = res
    return state


def project(id_: str, name: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    return ("project", {"id": id_, "name": name, "scopes": [], "metadata": {}, "rate_limit_rpm": None,
                        "created_at": "2026-01-01T00:00:00Z", **kw})


def key(id_: str, project_id: str, name: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    return ("api_key", {"key_id": id_, "project_id": project_id, "name": name, "label": name, "scopes": [],
                        "status": "active", "created_at": "2026-01-01T00:00:00Z", "last_rotated_at": None, **kw})


