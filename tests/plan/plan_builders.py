"""Builders for desired and live states, so planner tests read as data."""

from __future__ import annotations

from typing import Any


from reconcile.kinds import REGISTRY
from reconcile.live.normalise import normalise
from reconcile.resources import DesiredResource, DesiredState, LiveState


def desired(*resources: DesiredResource, prune: set[str] | None = None) -> DesiredState:
    return DesiredState({r.address: r for r in resources}, prune=prune or set())


def want(kind: str, meta: dict[str, Any] | None = None, **values: Any) -> DesiredResource:
    spec = REGISTRY[kind]
    values = spec.normalize(values)
    return DesiredResource(kind, tuple(values[k] for k in spec.identity), values, meta or {})


def live(*raws: tuple[str, dict[str, Any]], caller_key: str | None = None) -> LiveState:
    """The live state `live.normalise` makes of these raw items (all kinds read)."""
    raw: dict[str, Any] = {}
    for kind, item in raws:
        if REGISTRY[kind].singleton:
            raw[kind] = item
        else:
            raw.setdefault(kind, []).append(item)
    return normalise(raw, {"caller": {"key_id": caller_key}}, REGISTRY)


def project(id_: str, name: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    return ("project", {"id": id_, "name": name, "scopes": [], "metadata": {}, "rate_limit_rpm": None,
                        "created_at": "2026-01-01T00:00:00Z", **kw})


def key(id_: str, project_id: str, name: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    return ("api_key", {"key_id": id_, "project_id": project_id, "name": name, "label": name, "scopes": [],
                        "status": "active", "created_at": "2026-01-01T00:00:00Z", "last_rotated_at": None, **kw})


