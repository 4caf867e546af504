"""Typed client for the Infrai account API.

`InfraiClient` sends requests (absolute URLs, bearer auth, retries per `RetryPolicy`) and
maps every failure to `reconcile.errors` (never an httpx exception). Imports only
`reconcile.errors` and `reconcile.__version__`.
"""

from reconcile.client.http import MAX_PAGE_SIZE, ApiResponse, InfraiClient, RequestEvent
from reconcile.client.retry import RetryPolicy, parse_retry_after

__all__ = [
    "MAX_PAGE_SIZE",
    "ApiResponse",
    "InfraiClient",
    "RequestEvent",
    "RetryPolicy",
    "parse_retry_after",
]
