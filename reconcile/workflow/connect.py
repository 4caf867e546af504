"""An API client built from `RunOptions`: the same bounds, retries and redaction whether the
CLI or a script opens it. The CLI adds its own parts (the embedded emulator of `--local`, a
retry printer) by passing `http` and `on_retry`.

Imports: kinds, client, redact.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Callable, Iterator

from ..kinds import REGISTRY
from ..redact import RUN_SECRETS
from .options import RunOptions

if TYPE_CHECKING:
    import httpx

    from ..client import InfraiClient, RetryNotice


def sensitive_field_names() -> frozenset[str]:
    """Every field any kind marks sensitive, wherever it appears in a request or answer."""
    from ..client import SENSITIVE_FIELDS

    return SENSITIVE_FIELDS.union(*(spec.sensitive_fields for spec in REGISTRY.values()))


def remember_declared_secrets(desired: object) -> None:
    """Register every sensitive value the config declares (e.g. a webhook secret from
    `${env:...}`) so no message of this run can show it, even one the API echoes."""
    for resource in getattr(desired, "resources", {}).values():
        for name in resource.spec.sensitive_fields:
            RUN_SECRETS.add(resource.values.get(name))


@contextlib.contextmanager
def connect(base_url: str, api_key: str, options: RunOptions = RunOptions(), *, http: httpx.Client | None = None,
            on_retry: Callable[[RetryNotice], None] | None = None) -> Iterator[InfraiClient]:
    """An `InfraiClient` for `base_url` with `options`' bounds and retries, closed on exit.

    `http` is an `httpx.Client` to send through (an in-process emulator's ASGI transport,
    event hooks); `on_retry` sees each retry a user would notice (a long wait)."""
    from ..client import InfraiClient

    with InfraiClient(base_url, api_key, http=http, limits=options.limits, retry=options.retry_policy,
                      max_connections=options.max_connections, redactor=RUN_SECRETS, on_retry=on_retry,
                      sensitive_fields=sensitive_field_names()) as client:
        yield client
