"""Read the account facts impact analysis needs, once per plan, concurrently and bounded.

Only the facts `reconcile.plan.impact.facts_needed` names are read (a no-op plan reads none),
each with one GET, at most `parallelism` at a time (and never more than there are facts).
They go into `LiveState.facts` next to `whoami`/`server_time`. Facts are read-only
context, so a failed read (a key without `account:read`, an API without the route) does
not fail the plan: it is recorded in `facts["unavailable"]` and the rules that need it
are skipped; `make_plan` turns it into a plan warning.
Imports: errors, kinds, resources (and a client, duck-typed).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

from ..errors import ApiError
from ..kinds import KINDS
from ..kinds.impact import BALANCE, BANDWIDTH, FORECAST, TIER, TIMESERIES, WINDOW_DAYS
from ..resources import LiveState
from .pool import reading_pool
from .tolerant import tolerant

log = logging.getLogger(__name__)



class FactsClient(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...


def _paths(now: datetime) -> dict[str, tuple[str, dict[str, Any]]]:
    start = (now - timedelta(days=WINDOW_DAYS)).replace(minute=0, second=0, microsecond=0)
    return {
        BALANCE: ("/v1/account/balance", {}),
        FORECAST: ("/v1/account/usage/forecast", {}),
        # Hourly, so the busiest hour (rate limits) and the daily spend come from one call.
        TIMESERIES: ("/v1/account/usage/timeseries",
                       {"granularity": "hour", "start": start.strftime("%Y-%m-%dT%H:%M:%SZ")}),
        TIER: ("/v1/account/tier", {}),
        BANDWIDTH: ("/v1/account/bandwidth/quota", {}),
    }


def read_facts(client: FactsClient, live: LiveState, names: Iterable[str], *, parallelism: int,
               now: datetime | None = None) -> dict[str, Any]:
    """GET each named fact into `live.facts` (and return them); object counts come free."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    paths = _paths(now or datetime.now(timezone.utc))
    unknown = [n for n in wanted if n not in paths]
    if unknown:
        raise ValueError(f"read_facts: unknown facts {unknown}")  # our bug, not the user's

    def fetch(name: str) -> Any:
        path, params = paths[name]
        value = tolerant(lambda: client.get(path, **params))
        if isinstance(value, ApiError):
            log.warning("read_facts: %s unavailable: %s", name, value)
        return value

    with reading_pool(min(parallelism, len(wanted)), "read-facts") as pool:
        results = dict(zip(wanted, pool.map(fetch, wanted)))
    facts: dict[str, Any] = {}
    for name, value in results.items():
        if isinstance(value, ApiError):
            facts.setdefault("unavailable", {})[name] = str(value)
        else:
            facts[name] = value
    facts["counts"] = object_counts(live)
    live.facts.update(facts)
    return facts


def object_counts(live: LiveState) -> dict[str, int]:
    """What the tier limits count (`KindSpec.tier_limit`), from the live state already read
    (no request): the objects of a kind, or of a nested kind the most one parent holds."""
    counts: dict[str, int] = {}
    for kind in KINDS:
        if kind.tier_limit is None:
            continue
        objects = live.of_kind(kind.name)
        if kind.parent is None:
            counts[kind.tier_limit] = len(objects)
            continue
        per_parent: dict[Any, int] = {}
        for r in objects:
            per_parent[r.item.parent_id] = per_parent.get(r.item.parent_id, 0) + 1
        counts[kind.tier_limit] = max(per_parent.values(), default=0)
    return counts
