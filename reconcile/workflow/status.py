"""`reconcile status`: read the account's health, concurrently and bounded, then assess it.

Everything here is a GET. Never more than `parallelism` calls are in flight. Stage one reads: the live
objects the report counts (projects, keys, webhooks, members, budget, auto-recharge,
bandwidth alerts) with `whoami` (the API's clock), the month's usage summary, the
auto-recharge payment failures and the subscription. Stage two, from the API's clock and
the webhooks' ids: the facts impact analysis reads too (balance, usage forecast, hourly
timeseries over the last 7 days, tier and limits, bandwidth quota) and each webhook's
deliveries. A failed read of a fact (a key without the scope, an API without the route) is
recorded under `unavailable` and its checks are skipped with a note, as impact analysis
does; a failed read of the live objects fails the command. The assessment itself is pure
(`reconcile.plan.health.assess_status`).

Imports: errors, resources, live, plan.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from ..errors import ApiError
from ..live.reader import read_live
from ..live.facts import _paths as fact_paths
from ..live.facts import read_facts
from ..live.pool import reading_pool
from ..live.tolerant import tolerant
from ..live.reader import server_now
from ..plan.health import HealthOptions, StatusReport, assess_status
from ..resources import DesiredState, LiveState
from .checks import DELIVERIES, USAGE  # the same endpoints the checks read
from .options import DEFAULT_PARALLELISM

PAYMENT_FAILURES = "/v1/account/autorecharge/payment_failures/list"
SUBSCRIPTION = "/v1/account/subscription/get"
# The kinds the report counts or reads settings from.
STATUS_KINDS = frozenset({"project", "api_key", "webhook", "member", "budget", "autorecharge", "bandwidth_alert"})
FACTS = ("balance", "forecast", "timeseries", "tier", "bandwidth_quota")
# Paths `reconcile status` reads beyond the kinds' lists and the impact facts (docs/capabilities.md).
STATUS_READS = (USAGE, PAYMENT_FAILURES, SUBSCRIPTION, DELIVERIES)


def read_paths() -> tuple[str, ...]:
    """Every path `read_status` GETs besides the kinds' lists and whoami (docs/capabilities.md)."""
    facts = fact_paths(datetime(2000, 1, 1, tzinfo=timezone.utc))
    return (*STATUS_READS, *(facts[name][0] for name in FACTS))


@dataclass
class StatusRead:
    """What was read: the live objects, the raw facts by name, and what could not be read."""

    live: LiveState
    facts: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class _Bounded:
    """The client with at most `width` calls in flight in all, across the nested pools of a
    stage (`read_live` and `read_facts` each run their own): each call holds a slot while it
    runs (a paginated list holds one for its pages, which are sequential anyway)."""

    def __init__(self, client: Any, width: int):
        self._client = client
        self._slots = threading.BoundedSemaphore(width)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get(self, path: str, **params: Any) -> Any:
        with self._slots:
            return self._client.get(path, **params)

    def list_all(self, path: str, **kwargs: Any) -> Any:
        with self._slots:
            return self._client.list_all(path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._slots:
            return self._client.request(method, path, **kwargs)


def read_status(client: Any, *, parallelism: int = DEFAULT_PARALLELISM) -> StatusRead:
    """Every GET the report needs, at most `parallelism` in flight at any time."""
    width = max(1, parallelism)
    client = _Bounded(client, width)
    with reading_pool(min(width, 4), "status-read") as pool:
        live_f: Future[LiveState] = pool.submit(read_live, client, STATUS_KINDS, parallelism=width)
        extra = {
            "usage": pool.submit(tolerant, lambda: client.get(USAGE)),
            "payment_failures": pool.submit(tolerant, lambda: client.list_all(PAYMENT_FAILURES)),
            "subscription": pool.submit(tolerant, lambda: client.get(SUBSCRIPTION)),
        }
        live = live_f.result()
        facts: dict[str, Any] = {name: future.result() for name, future in extra.items()}
    # Stage two needs the API's clock (the timeseries' window) and the webhooks' ids.
    now = server_now(live) or datetime.now(timezone.utc)
    webhooks = [str(r.id) for r in live.of_kind("webhook") if r.id]
    with reading_pool(min(width, len(webhooks) + 1), "status-read-2") as pool:
        facts_f = pool.submit(read_facts, client, live, FACTS, parallelism=width, now=now)
        got = {hook: pool.submit(tolerant, functools.partial(client.list_all, DELIVERIES.replace("{id}", hook)))
               for hook in webhooks}
        facts.update(facts_f.result())
        answers = {hook: future.result() for hook, future in got.items()}
    unavailable: dict[str, str] = dict(facts.pop("unavailable", {}))
    for name in list(facts):
        if isinstance(facts[name], ApiError):
            unavailable[name] = str(facts.pop(name))
    deliveries: dict[str, Any] = {}
    for hook, value in answers.items():
        if isinstance(value, ApiError):
            unavailable[f"deliveries of {hook}"] = str(value)
        else:
            deliveries[hook] = value
    facts["deliveries"] = deliveries
    return StatusRead(live, facts, unavailable, now)


def rotation_settings(desired: DesiredState | None) -> dict[str, Mapping[str, Any]]:
    """Each declared key's `rotate_after` and `grace_hours`, by address (the API keeps neither)."""
    if desired is None:
        return {}
    return {address: dict(r.meta) for address, r in desired.resources.items()
            if r.kind == "api_key" and r.meta.get("rotate_after") is not None}


def account_status(client: Any, options: HealthOptions, *, desired: DesiredState | None = None,
                   parallelism: int = DEFAULT_PARALLELISM) -> StatusReport:
    """Read, then assess: the report `reconcile status` prints."""
    read = read_status(client, parallelism=parallelism)
    return assess_status(read.facts, read.live, rotation_settings(desired), options, read.now,
                         unavailable=read.unavailable)
