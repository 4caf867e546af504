"""No secret in any message: the API key, every sensitive value sent or received, every
secret registered with the run's redactor; and the one Redactor / mask_values they use."""

from __future__ import annotations

import logging
from typing import Any, Callable

import httpx

from client_fakes import SECRET, Server, error, ok  # type: ignore[import-not-found]
from reconcile.client import InfraiClient, RetryPolicy
from reconcile.errors import ApiStatusError, TransportError
from reconcile.redact import MASK, REDACTED, RedactingFilter, Redactor, mask_values

HOOK = "whsec_" + "S3cr3tS1gn1ng" * 2


def echo(request: httpx.Request) -> httpx.Response:
    return error(400, "VALIDATION_ERROR", f"bad body {request.content.decode()}")


def test_sent_sensitive_values_are_blanked_in_an_echo(make_client: Callable[..., InfraiClient], server: Server,
                                                      raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(echo)
    exc = raises(ApiStatusError, client.request, "POST", "/v1/account/webhooks/register",
                 json={"url": "https://h.example/x", "nested": [{"secret": HOOK}]}, idempotency_key="k")
    assert HOOK not in str(exc) and HOOK not in repr(exc.body)
    assert '"secret":"***"' in str(exc) and "https://h.example/x" in str(exc)  # only secrets go


def test_secrets_received_are_blanked_later(make_client: Callable[..., InfraiClient], server: Server,
                                            raises: Callable[..., Any]) -> None:
    issued = "ifr_pk_proj_" + "N3wK3y" * 6
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(ok({"key_id": "key_2", "key_secret": issued}), httpx.ReadError(f"reset by {issued}"))
    client.request("POST", "/v1/account/keys/create", json={"name": "ci"}, idempotency_key="k")
    exc = raises(TransportError, client.request, "GET", "/v1/account/keys/list")
    assert issued not in str(exc) and f"reset by {REDACTED}" in str(exc)


def test_a_shared_redactor_knows_what_the_run_declared(server: Server, raises: Callable[..., Any]) -> None:
    run = Redactor()
    run.add(HOOK)  # e.g. from the config, never sent in this run
    server.answer(error(409, "CONFLICT", f"webhook already has secret {HOOK}"))
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = InfraiClient("https://api.example.test", SECRET, http=http, redactor=run)
        exc = raises(ApiStatusError, client.request, "GET", "/v1/account/webhooks/list")
    assert HOOK not in str(exc) and SECRET in run  # the client added its key to the shared one


def test_redactor_blanks_longest_first_and_ignores_short_values() -> None:
    redactor = Redactor()
    for value in ("abcdefgh", "abcdefghijkl", "short", None, 12345678):
        redactor.add(value)
    assert len(redactor) == 2
    assert redactor.redact("x abcdefghijkl y abcdefgh z short") == f"x {REDACTED} y {REDACTED} z short"
    assert redactor.redact_data({"a": ["abcdefgh!"], "n": 1}) == {"a": [f"{REDACTED}!"], "n": 1}
    redactor.add_fields({"items": [{"secret": "from-a-nested-list"}], "name": "not-a-secret-value"},
                        frozenset({"secret"}))
    assert "from-a-nested-list" in redactor and "not-a-secret-value" not in redactor


def test_mask_values_names_the_env_variable_or_masks() -> None:
    values = {"url": "https://h", "secret": "s3cr3t-value", "other": None}
    assert mask_values(values, frozenset({"secret", "other"})) == {"url": "https://h", "secret": MASK, "other": None}
    assert mask_values(values, {"secret"}, {"secret": "HOOK"})["secret"] == "${env:HOOK}"


def test_logging_filter_blanks_messages_arguments_and_tracebacks() -> None:
    redactor = Redactor()
    redactor.add(HOOK)
    try:
        raise ValueError(f"bad {HOOK}")
    except ValueError as exc:
        record = logging.LogRecord("reconcile.x", logging.ERROR, __file__, 1, "saw %s", (HOOK,), (type(exc), exc, None))
    assert RedactingFilter(redactor).filter(record)
    text = logging.Formatter().format(record)
    assert HOOK not in text and f"saw {REDACTED}" in text and f"ValueError: bad {REDACTED}" in text
