"""Typed client for the Infrai account API.

`InfraiClient` sends requests (absolute URLs, bearer auth, retries per `RetryPolicy`) and
maps every failure to `reconcile.errors` (never an httpx exception), within `ClientLimits`.
Imports only `reconcile.errors`, `reconcile.redact` and `reconcile.__version__`.
"""

from reconcile.client.http import SENSITIVE_FIELDS, ApiResponse, InfraiClient, RequestEvent, RetryNotice
from reconcile.client.limits import MAX_PAGE_SIZE, ClientLimits
from reconcile.client.retry import RetryPolicy, parse_retry_after

__all__ = [
    "MAX_PAGE_SIZE",
    "SENSITIVE_FIELDS",
    "ApiResponse",
    "ClientLimits",
    "InfraiClient",
    "RequestEvent",
    "RetryNotice",
    "RetryPolicy",
    "parse_retry_after",
]
