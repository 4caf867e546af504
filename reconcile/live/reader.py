"""Read the live account with the fewest round trips the API allows.

One list walk per kind (pages behind a cursor are sequential; kinds are independent, so
they run concurrently), one GET per singleton, plus `whoami` to learn which key and
project this tool is calling with. No per-resource GET: the list items carry every field.

An answer that is not in the documented shape (a `whoami` or singleton that is not an
object, an item whose identity is not a plain value, an item its kind cannot read) is a
`MalformedResponse` naming the endpoint and the item, never a crash deeper in.

Imports: errors, kinds, resources (and a client by its protocol only).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Iterable, Protocol

from ..errors import MalformedResponse
from ..kinds import KINDS, REGISTRY, KindSpec, LiveContext, LiveItem
from ..kinds.base import default_from_live
from ..kinds.units import parse_api_time
from ..resources import LiveResource, LiveState, gc_paused
from .pool import reading_pool

log = logging.getLogger(__name__)


class ListingClient(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...
    def list_all(self, path: str, *, params: Any = None, paginated: bool = True, page_size: int = 1000) -> list[dict]: ...
    @property
    def request_count(self) -> int: ...


WHOAMI = "/v1/account/whoami"


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

    state = LiveState(kinds_read=set(wanted))
    caller = who.get("caller") or {}
    if not isinstance(caller, dict):
        raise _malformed(client, WHOAMI, f"its caller is {type(caller).__name__}, not an object")
    state.caller_key_id = caller.get("key_id")
    state.caller_project_id = caller.get("project_id")
    state.facts["whoami"] = {k: v for k, v in who.items() if k != "caller"}
    if who.get("server_time"):
        state.facts["server_time"] = who["server_time"]

    ctx = LiveContext(project_names={str(p.get("id")): p.get("name") for p in raw.get("project", []) or []})
    for spec in specs:
        items = [raw[spec.name]] if spec.singleton else raw[spec.name]
        normalise = spec.from_live or default_from_live
        for index, item in enumerate(items or []):
            if not isinstance(item, dict):  # the client refuses these: a ListingClient that does not
                raise _malformed(client, spec.api.list.path, f"item {index + 1} is not an object")
            live_item = _normalised(normalise, spec, item, ctx, client, index)
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


#: What an identity part or an id may be: a plain JSON scalar (a name, a threshold).
_PLAIN = (str, int, float, type(None))


def _normalised(normalise: Any, spec: KindSpec, item: dict, ctx: LiveContext, client: ListingClient,
                index: int) -> LiveItem | None:
    """`normalise(spec, item, ctx)`, or MalformedResponse naming the item it cannot read."""
    path = spec.api.list.path
    try:
        live_item = normalise(spec, item, ctx)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _malformed(client, path, f"{_which(item, index)} cannot be read as {spec.title}: "
                                       f"{type(exc).__name__}: {exc}") from None
    if live_item is None:
        return None
    odd = [k for k, v in zip(spec.identity, live_item.identity) if not isinstance(v, _PLAIN) or isinstance(v, bool)]
    if odd or not isinstance(live_item.id, _PLAIN):
        field = odd[0] if odd else spec.api.id_field
        raise _malformed(client, path, f"{_which(item, index)} has a {field} that is not a plain value")
    return live_item


def _which(item: dict, index: int) -> str:
    for key in ("id", "key_id", "member_id", "alert_id"):
        if isinstance(item.get(key), str):
            return f"item {index + 1} ({key} {item[key][:64]!r})"
    return f"item {index + 1}"


def _object_answer(answer: Any, path: str, client: ListingClient) -> dict:
    if not isinstance(answer, dict):
        shown = "null" if answer is None else type(answer).__name__
        raise _malformed(client, path, f"the answer is {shown}, not an object")
    return answer


def _malformed(client: ListingClient, path: str, what: str) -> MalformedResponse:
    base = getattr(client, "base_url", "")
    redact = getattr(client, "redact", None)
    text = f"GET {base}{path}: {what} (the API is misbehaving)"
    return MalformedResponse(redact(text) if callable(redact) else text, "GET", f"{base}{path}")


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
