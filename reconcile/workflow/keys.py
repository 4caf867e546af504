"""`reconcile keys compromised` in library form: report a leaked key; the API revokes its
secret and issues a new one in one step, and the new secret goes to the sinks.

Imports: errors, kinds, apply, live.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..apply.secrets import FileSink, Secret, SecretRouter, SecretSink
from ..errors import ReconcileError
from ..kinds import REGISTRY
from ..live.reader import read_live
from .options import RunOptions

API_KEY = REGISTRY["api_key"]
COMPROMISE = "/v1/account/keys/suspected_compromise/{id}"


@dataclass(frozen=True)
class ReissuedKey:
    address: str
    secret_written: bool
    """False when the API returned no new secret."""
    grace_expires_at: str | None
    """When the old secret stops working (None: at once, a confirmed leak)."""


def report_compromised(client: Any, address: str, *, confirmed_leak: bool, secrets_out: str | Path | None,
                       recovery_path: str | Path, options: RunOptions = RunOptions()) -> ReissuedKey:
    """Report the live key at `address` as leaked and write its new secret to `secrets_out`
    (or `recovery_path`), mode 0600. Refuses an unknown address (with close matches) and
    the key the client is calling with."""
    live = read_live(client, {API_KEY.name}, parallelism=options.parallelism)
    found = live.resources.get(address)
    if found is None or found.kind != API_KEY.name or found.id is None:
        known = sorted(a for a, r in live.resources.items() if r.kind == API_KEY.name)
        close = difflib.get_close_matches(address, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; live keys: {', '.join(known[:10]) or 'none'}"
        raise ReconcileError(f"no live API key at {address}{hint}")
    if found.id == live.caller_key_id:
        raise ReconcileError(f"{address} is the key this tool is calling with: report it with another key")
    data = client.request("POST", COMPROMISE.replace("{id}", found.id),
                          json={"confirmed_leak": confirmed_leak, "auto_rotate": True}).data
    sinks: list[SecretSink] = [FileSink(secrets_out)] if secrets_out else []
    value = data.get("key_secret") if isinstance(data, dict) else None
    if value:
        with SecretRouter(sinks, recovery_path) as router:  # the secrets file complete when this returns
            router.put(Secret(address, API_KEY.name, "key_secret", value, project=found.item.identity[0], id=found.id))
    expires = None if confirmed_leak or not isinstance(data, dict) else data.get("grace_expires_at")
    return ReissuedKey(address, bool(value), expires)
