"""`reconcile webhooks retry|replay`: re-send webhook deliveries, an operation and not a
state (docs/status.md). A retry sends a failed delivery again as the same message (the
receiver can de-duplicate it); a replay sends a past delivery, failed or not, as a new
message. Each call carries an idempotency key made of the webhook, the delivery and a
random part per run, so a call the client retries after a lost answer is sent once.

Imports: errors, kinds, resources, live.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

from ..errors import ReconcileError
from ..kinds import REGISTRY
from ..kinds.webhook import normalize_url
from ..live.reader import read_live
from ..resources import LiveResource
from .options import DEFAULT_PARALLELISM

WEBHOOK = REGISTRY["webhook"]
RETRY = "/v1/account/webhooks/retry/{id}"
REPLAY = "/v1/account/webhooks/replay/{id}"
PATHS = {"retry": RETRY, "replay": REPLAY}


@dataclass(frozen=True)
class Resent:
    """One re-sent delivery: what was asked and what the receiver answered."""

    action: str
    address: str
    asked: str | None  # the delivery id given, None for the API's default (the latest failed / latest)
    delivery: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.delivery.get("ok"))


def find_webhook(client: Any, address: str, *, parallelism: int = DEFAULT_PARALLELISM) -> LiveResource:
    """The live webhook at ADDRESS (`webhooks["https://…"]`, or its URL alone)."""
    live = read_live(client, {WEBHOOK.name}, parallelism=parallelism)
    wanted = address if address.startswith("webhooks[") else WEBHOOK.address((normalize_url(address),))
    found = live.resources.get(wanted)
    if found is not None and found.kind == WEBHOOK.name and found.id:
        return found
    known = sorted(a for a, r in live.resources.items() if r.kind == WEBHOOK.name)
    close = difflib.get_close_matches(wanted, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; live webhooks: {', '.join(known[:10]) or 'none'}"
    raise ReconcileError(f"no live webhook at {address}{hint}")


def idempotency_key(action: str, webhook_id: str, delivery_id: str | None, run_id: str) -> str:
    return f"rcl-webhook-{action}-{webhook_id}-{delivery_id or 'latest'}-{run_id}"


def resend(client: Any, action: str, webhook: LiveResource, delivery_ids: tuple[str, ...], *,
           run_id: str | None = None) -> list[Resent]:
    """POST retry or replay for each delivery (or once for the API's default), in order."""
    if action not in PATHS:
        raise ValueError(f"resend: unknown action {action!r}")  # our bug, not the user's
    run = run_id or token_hex(8)
    path = PATHS[action].replace("{id}", str(webhook.id))
    done = []
    for delivery_id in delivery_ids or (None,):
        body = {"delivery_id": delivery_id} if delivery_id else {}
        data = client.request("POST", path, json=body,
                              idempotency_key=idempotency_key(action, str(webhook.id), delivery_id, run)).data
        done.append(Resent(action, webhook.address, delivery_id, data if isinstance(data, dict) else {}))
    return done
