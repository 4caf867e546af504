"""The committed OpenAPI document: current, identical in both places, complete and well-formed."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
from starlette.requests import Request

from reconcile.emulator.openapi import load_openapi, openapi_endpoint

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "schemas" / "infrai-account-api.openapi.json"
PACKAGE_FILE = REPO / "reconcile" / "emulator" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_openapi", REPO / "schemas" / "generate_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_copies_are_identical() -> None:
    assert SCHEMA_FILE.read_bytes() == PACKAGE_FILE.read_bytes()
    assert load_openapi() == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_document_is_current() -> None:
    generator = _generator()
    if not generator.CAPABILITIES_JSON.exists():
        pytest.skip(f"{generator.CAPABILITIES_JSON} is not beside the repository")
    capabilities = json.loads(generator.CAPABILITIES_JSON.read_text(encoding="utf-8"))
    assert generator.render(generator.build(capabilities)) == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "stale: run python schemas/generate_openapi.py"
    )


def test_every_capability_is_an_operation() -> None:
    document = load_openapi()
    operations = [op for item in document["paths"].values() for method, op in item.items() if method in METHODS]
    assert len(operations) == 56
    assert len({op["operationId"] for op in operations}) == 56
    for op in operations:
        assert op["operationId"].startswith("account.")
        assert op["security"] == [{"bearerAuth": []}]
        assert "200" in op["responses"] and "401" in op["responses"]
        for status, response in op["responses"].items():
            if status != "200":
                assert response == {"$ref": f"#/components/responses/E{status}"}
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_schemas_are_valid_json_schema() -> None:
    document = load_openapi()
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for response in document["components"]["responses"].values():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_load_returns_a_private_copy() -> None:
    document = load_openapi()
    document["paths"].clear()
    assert len(load_openapi()["paths"]) > 0


def test_endpoint_serves_the_document() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/openapi.json", "headers": [], "query_string": b""})
    response = asyncio.run(openapi_endpoint(request))
    assert response.media_type == "application/json"
    assert json.loads(bytes(response.body)) == load_openapi()
