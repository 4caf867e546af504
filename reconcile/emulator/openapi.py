"""The emulator's OpenAPI 3.1 document, served at `/openapi.json`.

`openapi.json` beside this module is package data, generated (with the identical
`schemas/infrai-account-api.openapi.json`) by `schemas/generate_openapi.py`; it describes all
56 capabilities with the shapes of docs/emulator.md. This module imports nothing else from
the project.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["load_openapi", "openapi_endpoint"]


@lru_cache(maxsize=1)
def _document_text() -> str:
    return resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")


def load_openapi() -> dict[str, Any]:
    """A fresh copy of the document (callers may modify it, e.g. to set `servers`)."""
    return copy.deepcopy(json.loads(_document_text()))


async def openapi_endpoint(request: Request) -> Response:
    """`GET /openapi.json`: the document as stored (no auth, like the other tooling routes)."""
    return Response(_document_text(), media_type="application/json")
