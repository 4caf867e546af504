"""Webhook signing and delivery (reconcile/emulator/delivery.py), against a loopback receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reconcile.emulator.delivery import DeliveryResult, deliver, sign, signing_key


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signature_header: str) -> bool:
    """An independent Standard Webhooks verifier, written from the spec."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    # The header may carry several space-separated "v1,<sig>" entries.
    return any(
        version == "v1" and hmac.compare_digest(sig.encode(), expected)
        for version, _, sig in (entry.partition(",") for entry in signature_header.split())
    )


def test_sign_matches_the_standard_webhooks_test_vector() -> None:
    # The reference example published with the Standard Webhooks / Svix libraries.
    assert (
        sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        ("whsec_AAECAw==", b"\x00\x01\x02\x03"),
        ("whsec_not*base64!", b"whsec_not*base64!"),
        ("my-own-secret", b"my-own-secret"),
    ],
)
def test_signing_key(secret: str, key: bytes) -> None:
    assert signing_key(secret) == key


def test_signature_depends_on_every_input() -> None:
    base = sign("whsec_AAECAw==", "msg_1", 1, b"{}")
    assert base.startswith("v1,")
    assert len({base, sign("whsec_AAECAw==", "msg_2", 1, b"{}"), sign("whsec_AAECAw==", "msg_1", 2, b"{}"),
                sign("whsec_AAECAw==", "msg_1", 1, b"{ }"), sign("whsec_AAECBA==", "msg_1", 1, b"{}")}) == 5


@dataclass
class Receiver:
    url: str
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        record: Receiver = self.server.receiver  # type: ignore[attr-defined]
        record.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/fail":
            self.send_response(500)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("location", "http://127.0.0.1:1/elsewhere")
        else:
            self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    record = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.receiver = record  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _deliver(url: str, secret: str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", **kwargs: object) -> DeliveryResult:
    options: dict[str, object] = {"headers": {"X-Team": "platform"}, "msg_id": "msg_abc", "timestamp": 1764086400}
    options.update(kwargs)
    return asyncio.run(deliver(url, secret, "key.rotated", {"key_id": "key_1"}, **options))  # type: ignore[arg-type]


def test_delivery_posts_a_signed_standard_webhook(receiver: Receiver) -> None:
    result = _deliver(receiver.url + "/hook")
    assert result.ok and result.status_code == 204 and result.error is None
    assert result.duration_ms >= 0
    [(path, headers, body)] = receiver.requests
    assert path == "/hook"
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == "1764086400"
    assert headers["x-team"] == "platform"
    assert headers["content-type"] == "application/json"
    assert verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_abc", "1764086400", body, headers["webhook-signature"])
    assert json.loads(body) == {"type": "key.rotated", "timestamp": "2025-11-25T16:00:00Z", "data": {"key_id": "key_1"}}


def test_custom_headers_cannot_replace_the_signature(receiver: Receiver) -> None:
    _deliver(receiver.url, secret="plain-secret-123", headers={"webhook-signature": "v1,forged"})
    [(_, headers, body)] = receiver.requests
    assert verify("plain-secret-123", "msg_abc", "1764086400", body, headers["webhook-signature"])


def test_non_2xx_is_a_failed_delivery(receiver: Receiver) -> None:
    result = _deliver(receiver.url + "/fail")
    assert (result.ok, result.status_code, result.error) == (False, 500, "endpoint answered HTTP 500")


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    result = _deliver(receiver.url + "/redirect")
    assert (result.ok, result.status_code) == (False, 302)
    assert len(receiver.requests) == 1


def test_connection_refused_becomes_an_error() -> None:
    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _deliver(f"http://127.0.0.1:{port}/hook")
    assert result.ok is False and result.status_code is None
    assert result.error is not None and "ConnectError" in result.error


def test_timeout_becomes_an_error() -> None:
    # A listening socket that never accepts: the TCP handshake completes, no answer comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        result = _deliver(f"http://127.0.0.1:{sock.getsockname()[1]}/hook", timeout=0.2)
    assert (result.ok, result.status_code, result.error) == (False, None, "timed out after 0.2s")
    assert result.duration_ms >= 150


def test_invalid_url_becomes_an_error() -> None:
    result = _deliver("not a url")
    assert result.ok is False and result.status_code is None and result.error
