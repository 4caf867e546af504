"""Read the live account with the fewest round trips the API allows.

One list walk per kind (pages behind a cursor are sequential; kinds are independent, so
they run concurrently), one GET per singleton, plus `whoami` to learn which key and
project this tool is calling with. No per-resource GET: the list items carry every field.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Iterable, Protocol

from ..kinds import KINDS, REGISTRY, KindSpec, LiveContext
from ..kinds.base import default_from_live
from ..state import LiveResource, LiveState, gc_paused

log = logging.getLogger(__name__)


class ListingClient(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...
    def list_all(self, path: str, *, params: Any = None, paginated: bool = True, page_size: int = 1000) -> list[dict]: ...
    @property
    def request_count(self) -> int: ...


WHOAMI = "/v1/account/whoami"


@gc_paused()
def read_live(client: ListingClient, kinds: Iterable[str] | None = None, *, parallelism: int = 8) -> LiveState:
    """Read the given kinds (all by default). Parents are read with their children, since
    a child's identity names its parent (a key is `projects.<name>.keys.<name>`)."""
    wanted = _with_parents(set(kinds) if kinds is not None else {k.name for k in KINDS})
    specs = [k for k in KINDS if k.name in wanted]
    start = client.request_count

    def fetch(spec: KindSpec) -> Any:
        if spec.singleton:
            return client.get(spec.api.list.path)
        return client.list_all(spec.api.list.path, params=dict(spec.api.list_params) or None,
                               paginated=spec.api.paginated)

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(specs) + 1))) as pool:
        who_future = pool.submit(client.get, WHOAMI)
        futures = {spec.name: pool.submit(fetch, spec) for spec in specs}
        raw = {name: f.result() for name, f in futures.items()}
        who = who_future.result()

    state = LiveState(kinds_read=set(wanted))
    caller = (who or {}).get("caller") or {}
    state.caller_key_id = caller.get("key_id")
    state.caller_project_id = caller.get("project_id")
    state.facts["whoami"] = {k: v for k, v in (who or {}).items() if k != "caller"}
    if isinstance(who, dict) and who.get("server_time"):
        state.facts["server_time"] = who["server_time"]

    ctx = LiveContext(project_names={str(p.get("id")): p.get("name") for p in raw.get("project", []) or []})
    for spec in specs:
        items = [raw[spec.name]] if spec.singleton else raw[spec.name]
        normalise = spec.from_live or default_from_live
        for item in items or []:
            if not isinstance(item, dict):
                continue
            live_item = normalise(spec, item, ctx)
            if live_item is None:
                continue
            if spec.parent is not None and live_item.identity[0] is None:
                continue  # a child of a parent we did not read (should not happen)
            resource = LiveResource(spec.name, spec.address(live_item.identity), live_item)
            if resource.address in state.resources:
                state.duplicates.append(resource)
            else:
                state.resources[resource.address] = resource
    state.requests = client.request_count - start
    log.debug("read_live: %d objects of %d kinds in %d requests", len(state.resources), len(specs), state.requests)
    return state


def _with_parents(names: set[str]) -> set[str]:
    out = set(names)
    for name in names:
        spec = REGISTRY[name]
        while spec.parent is not None:
            out.add(spec.parent)
            spec = REGISTRY[spec.parent]
    return out


def server_now(state: LiveState) -> datetime | None:
    """The API's clock when it reported one (the emulator does), for rotation policies."""
    value = state.facts.get("server_time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
