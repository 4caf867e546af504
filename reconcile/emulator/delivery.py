"""Webhook delivery: sign and POST one event, the way Standard Webhooks specifies.

Used by the emulator for `webhooks.test`, `webhooks.retry`/`replay` and events raised by
other calls (when `create_app(webhook_delivery=True)`). Delivery is one attempt: the caller
records the `DeliveryResult` and decides about retries.

Signing (https://www.standardwebhooks.com/, "Verifying webhooks"): the signed content is
`f"{msg_id}.{timestamp}.".encode() + body`; the signature is HMAC-SHA256 under the secret's
key, sent as `webhook-signature: v1,<base64>`. The key is:

- for a `whsec_...` secret, the base64 decoding of the part after the prefix, which is what
  the Standard Webhooks libraries do, so a receiver using them verifies our deliveries.
  Emulator-generated secrets (`whsec_` + 32 base62 characters) always decode. A `whsec_`
  secret whose tail is not valid base64 falls back to the UTF-8 bytes of the whole secret
  (the libraries would reject such a secret; we still deliver);
- for any other (caller-chosen) secret, its UTF-8 bytes as given.

The client never follows redirects (a redirect to an internal address would bypass the SSRF
rules checked on the registered URL), ignores proxy environment variables and reads at most
`MAX_RESPONSE_BYTES` of the answer. This module imports nothing else from the project.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["DeliveryResult", "deliver", "sign", "signing_key"]

SECRET_PREFIX = "whsec_"
USER_AGENT = "infrai-emulator-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass
class DeliveryResult:
    """The outcome of one delivery attempt.

    `status_code` is None when no HTTP answer arrived (connection error, timeout); `ok` is
    true only for a 2xx; `error` says what went wrong otherwise.
    """

    status_code: int | None
    ok: bool
    error: str | None
    duration_ms: int


def signing_key(secret: str) -> bytes:
    """The HMAC key for `secret` (see the module docstring for the `whsec_` rule)."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass  # Not base64: fall back to the raw secret, documented above.
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value (`v1,<base64 HMAC-SHA256>`) for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def event_body(event_type: str, payload: Mapping[str, Any], timestamp: int) -> bytes:
    """The JSON body delivered for an event (compact, so the signed bytes are what is sent)."""
    envelope = {
        "type": event_type,
        "timestamp": datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": dict(payload),
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


async def deliver(
    url: str,
    secret: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    headers: Mapping[str, str],
    msg_id: str,
    timestamp: int,
    timeout: float = 5.0,
) -> DeliveryResult:
    """POST one signed event to `url`; never raises for network or HTTP failures.

    `headers` are the webhook's custom headers; the `webhook-*` and content headers are set
    after them so a custom header can never replace the signature.
    """
    body = event_body(event_type, payload, timestamp)
    request_headers = {**headers}
    request_headers.update(
        {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
    )
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            async with client.stream("POST", url, content=body, headers=request_headers) as response:
                await _drain(response)
                status = response.status_code
    except httpx.TimeoutException:
        return DeliveryResult(None, False, f"timed out after {timeout:g}s", _elapsed_ms(started))
    except Exception as exc:  # noqa: BLE001 - any failure is a failed delivery, never a crash
        message = str(exc) or type(exc).__name__
        return DeliveryResult(None, False, f"{type(exc).__name__}: {message}", _elapsed_ms(started))
    ok = 200 <= status < 300
    error = None if ok else f"endpoint answered HTTP {status}"
    return DeliveryResult(status, ok, error, _elapsed_ms(started))


async def _drain(response: httpx.Response) -> None:
    """Read (and drop) at most MAX_RESPONSE_BYTES so a huge answer cannot stall us."""
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received >= MAX_RESPONSE_BYTES:
            break


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
