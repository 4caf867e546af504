"""Webhooks: identified by URL. The signing secret is write-only: set on register, never
read back or updated, so changing it means replacing the webhook (`--replace ADDRESS`).
Header names must be HTTP tokens the API does not set itself; the policy can limit the
events subscribed to."""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from .base import (
    Endpoint,
    Field,
    KindApi,
    KindSpec,
    Meta,
    OwnershipMarker,
    RelPath,
    ReplaceStrategy,
    sorted_set,
)
from .project import PROTECT
from .vocab import RETRY_POLICIES, WEBHOOK_EVENTS


def normalize_url(value: Any) -> Any:
    """Scheme and host are case-insensitive and :443 is the https default: one spelling,
    so `https://Hooks.Example.com:443/a` is the same webhook as `https://hooks.example.com/a`
    (the config loader's duplicate check agrees)."""
    if not isinstance(value, str):
        return value
    parts = urlsplit(value)
    if not parts.scheme or not parts.hostname:
        return value
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return value
    netloc = host if port in (None, 443) and parts.scheme.lower() == "https" else f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


_HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = ("host", "content-length", "authorization")


def _header_names(headers: Any) -> Iterable[tuple[str, RelPath]]:
    """The API refuses header names that are not HTTP tokens and the ones it sets itself."""
    for name in headers if isinstance(headers, dict) else ():
        if not _HEADER_TOKEN.match(name):
            yield f"header name {name!r} is not a valid HTTP header name", (name,)
        elif name.lower() in _RESERVED_HEADERS or name.lower().startswith("webhook-"):
            yield f"header {name!r} is set by Infrai itself and cannot be overridden", (name,)


def _allowed_events(allowed: frozenset[str], change: Mapping[str, Any]) -> list[str]:
    """Policy `allowed_webhook_events`: webhooks created or changed subscribe only to these."""
    extra = sorted(set((change.get("after") or {}).get("events") or []) - allowed)
    if not extra:
        return []
    return [f"subscribes to {', '.join(extra)}; allowed: {', '.join(sorted(allowed)) or 'none'}"]


# The delivery header naming the stack that owns a webhook (see docs/stacks.md).
STACK_HEADER = "X-Infrai-Stack"

WEBHOOK = KindSpec(
    name="webhook",
    title="webhook",
    config_key="webhooks",
    identity=("url",),
    depends_on=("tier",),
    description="An HTTPS endpoint that receives signed account events.",
    fields={
        "url": Field({"type": "string", "pattern": "^https://[^/?#@\\s]+([/?#]\\S*)?$", "maxLength": 2048}, required=True,
                     normalize=normalize_url,
                     description="Public https URL; unique in the account; the webhook's identity."),
        "events": Field({"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(WEBHOOK_EVENTS)}},
                        required=True, normalize=sorted_set, description="Event types delivered to it."),
        "description": Field({"type": "string", "maxLength": 256}, description="Free text, at most 256 characters."),
        # register has no `active` parameter: a webhook declared inactive is registered, then updated.
        "active": Field({"type": "boolean"}, settable_on_create=False, description="false pauses deliveries."),
        "retry_policy": Field({"type": "string", "enum": list(RETRY_POLICIES)}, description="default or aggressive."),
        "headers": Field({"type": "object", "maxProperties": 20,
                          "additionalProperties": {"type": "string", "maxLength": 1024}},
                         validate=_header_names, description="Extra HTTP headers sent with each delivery."),
        "secret": Field({"type": "string", "minLength": 8, "maxLength": 256}, write_only=True, sensitive=True,
                        updatable=False,
                        description="Signing secret (use ${env:NAME}); generated when omitted. Never read back."),
        "created_at": Field({"type": "string"}, computed=True),
    },
    ownership=OwnershipMarker(field="headers", key=STACK_HEADER),
    meta={"protect": PROTECT,
          # docs/checks.md: tested with webhooks.test after apply, delivery health in plans.
          "reachable": Meta({"type": "boolean"},
                            "true: after apply creates or changes it, `webhooks.test` sends it a test event and "
                            "the check reports the delivery; plans report its recent deliveries' failure rate "
                            "and last success (docs/checks.md).")},
    api=KindApi(
        list=Endpoint("GET", "/v1/account/webhooks/list"),
        create=Endpoint("POST", "/v1/account/webhooks/register"),
        update=Endpoint("PATCH", "/v1/account/webhooks/update/{id}"),
        delete=Endpoint("DELETE", "/v1/account/webhooks/delete/{id}"),
    ),
    replace_strategy=ReplaceStrategy.DELETE_BEFORE_CREATE,  # the URL is unique
    delete_is_irreversible=True,
    secret_outputs=("secret",),
    policy={"allowed_webhook_events": _allowed_events},
    tier_limit="webhooks",
)
