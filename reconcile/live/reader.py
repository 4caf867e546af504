"""Read the live account with the fewest round trips the API allows.

One list walk per kind (pages behind a cursor are sequential; kinds are independent, so
they run concurrently), one GET per singleton, plus `whoami` to learn which key and
project this tool is calling with. No per-resource GET: the list items carry every field.

An answer that is not in the documented shape (a `whoami` or singleton that is not an
object, an item whose identity is not a plain value, an item its kind cannot read) is a
`MalformedResponse` naming the endpoint and the item, never a crash deeper in. Turning
the answers into a `LiveState` is `normalise.normalise`, pure.

Imports: collector, kinds, resources (and a client by its protocol only).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Iterable, Protocol

from ..kinds import KINDS, REGISTRY
from ..kinds.base import KindSpec
from ..kinds.units import parse_api_time
from ..collector import gc_paused
from ..resources import LiveState
from .normalise import WHOAMI, malformed, normalise
from .pool import reading_pool

log = logging.getLogger(__name__)


class ListingClient(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...
    def list_all(self, path: str, *, params: Any = None, paginated: bool = True, page_size: int = 1000) -> list[dict[str, Any]]: ...
    @property
    def request_count(self) -> int: ...


@gc_paused()
def read_live(client: ListingClient, kinds: Iterable[str] | None = None, *, parallelism: int) -> LiveState:
    """Read the given kinds (all by default). Parents are read with their children, since
    a child's identity names its parent (a key is `projects.<name>.keys.<name>`)."""
    wanted = _with_parents(set(kinds) if kinds is not None else {k.name for k in KINDS})
    specs = [k for k in KINDS if k.name in wanted]
    start = client.request_count

    def fetch(spec: KindSpec) -> Any:
        if spec.singleton:
            return _object_answer(client.get(spec.api.list.path), spec.api.list.path, client)
        return client.list_all(spec.api.list.path, params=dict(spec.api.list_params) or None,
                               paginated=spec.api.paginated)

    with reading_pool(min(parallelism, len(specs) + 1), "read-live") as pool:
        who_future = pool.submit(client.get, WHOAMI)
        futures = {spec.name: pool.submit(fetch, spec) for spec in specs}
        raw = {name: f.result() for name, f in futures.items()}
        who = _object_answer(who_future.result(), WHOAMI, client)

    state = normalise(raw, who, wanted, base_url=getattr(client, "base_url", ""),
                      redact=getattr(client, "redact", None))
    state.requests = client.request_count - start
    log.debug("read_live: %d objects of %d kinds in %d requests", len(state.resources), len(specs), state.requests)
    return state


def _object_answer(answer: Any, path: str, client: ListingClient) -> dict[str, Any]:
    if not isinstance(answer, dict):
        shown = "null" if answer is None else type(answer).__name__
        raise malformed(path, f"the answer is {shown}, not an object", getattr(client, "base_url", ""),
                        getattr(client, "redact", None))
    return answer


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
    return parse_api_time(state.facts.get("server_time"))
