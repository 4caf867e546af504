"""The one JSON error shape of the emulator, and exception → response.

Every non-2xx answer is `{"error": {"code", "message", "field"?}}` with
`Content-Type: application/json`; handlers raise `ApiError` and never build error bodies.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from starlette.responses import Response


class ApiError(Exception):
    """An expected failure that maps to one HTTP status and error code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, field)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} {ident!r} not found")


def conflict(message: str, field: str | None = None) -> ApiError:
    return ApiError(409, "CONFLICT", message, field)


def error_response(error: ApiError) -> Response:
    return Response(
        json.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers or None,
    )


def internal_error_response() -> Response:
    # An unexpected exception is an emulator bug; it still answers in the contract's shape.
    return error_response(ApiError(500, "INTERNAL", "internal emulator error"))
