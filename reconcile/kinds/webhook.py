"""Webhooks: identified by URL. The signing secret is write-only: set on register, never
read back or updated, so changing it means replacing the webhook (`--replace ADDRESS`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .base import (
    Endpoint,
    Field,
    KindApi,
    KindSpec,
    Meta,
    OwnershipMarker,
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
                         description="Extra HTTP headers sent with each delivery."),
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
)
