"""Fuzz every operation of the OpenAPI document against the emulator, in process (schemathesis).

Positive and negative cases, bounded to `MAX_EXAMPLES` per operation so the module stays
well under a minute; deterministic (derandomized, no example database) so CI is stable.
Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection.
"""

from __future__ import annotations

import warnings

import hypothesis
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.exceptions import StarletteDeprecationWarning

from reconcile.emulator import create_app
from reconcile.emulator.openapi import load_openapi

with warnings.catch_warnings():
    # schemathesis drives ASGI apps through starlette's TestClient, which warns at import.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    import starlette.testclient  # noqa: F401

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]

APP = create_app(":memory:")
AUTH = {"Authorization": f"Bearer {APP.state.emulator.bootstrap_secret}"}

schema = schemathesis.openapi.from_dict(load_openapi())
schema.app = APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, database="none",
    deterministic=True,
    # The contract: unknown fields (and query parameters) are ignored, so an undeclared
    # parameter does not make a request invalid; everything the schema constrains still is.
    allow_extra_parameters=False,
)


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_fuzz(case: Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)
