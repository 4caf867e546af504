"""What the emulator leaves on disk (contract: "Secrets at rest"): every file 0600 whatever
the umask, in `serve` and `--local` modes; no secret in clear in any byte of the database,
its WAL, its shared-memory file or its key file; idempotency records swept after 24 h."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reconcile.cli.wiring import Connection, open_client
from reconcile.emulator import create_app

from .conftest import API, auth
from .live_server import live_server

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0
CALLER_CHOSEN_WEBHOOK_SECRET = "caller-chosen-signing-secret-0042"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _exercise(http: httpx.Client) -> list[str]:
    """Create, rotate and report keys and register webhooks, with idempotency keys (so each
    response is stored for replay); returns every secret the run produced."""
    found: list[str] = []
    key = http.post(f"{API}/keys/create", json={"name": "ci"}, headers={"Idempotency-Key": "c1"}).json()
    found.append(key["key_secret"])
    replayed = http.post(f"{API}/keys/create", json={"name": "ci"}, headers={"Idempotency-Key": "c1"})
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json()["key_secret"] == key["key_secret"]
    rotated = http.post(f"{API}/keys/rotate/{key['key_id']}", json={"grace_hours": 1, "idempotency_key": "r1"}).json()
    found.append(rotated["key_secret"])
    reported = http.post(f"{API}/keys/suspected_compromise/{key['key_id']}", json={"idempotency_key": "s1"}).json()
    found.append(reported["key_secret"])
    generated = http.post(f"{API}/webhooks/register", json={
        "url": "https://hooks.example.com/gen", "events": ["key.rotated"], "idempotency_key": "w1"}).json()
    found.append(generated["secret"])
    chosen = http.post(f"{API}/webhooks/register", json={
        "url": "https://hooks.example.com/own", "events": ["key.created"], "secret": CALLER_CHOSEN_WEBHOOK_SECRET,
        "idempotency_key": "w2"}).json()
    assert chosen["secret"] == CALLER_CHOSEN_WEBHOOK_SECRET
    found.append(chosen["secret"])
    # Events go to the webhooks (signed with their secrets, read back from the database).
    found.append(http.post(f"{API}/keys/create", json={"name": "evt"}, headers={"Idempotency-Key": "c2"})
                 .json()["key_secret"])
    return found


def _assert_no_secret_in(directory: Path, secrets: list[str]) -> list[str]:
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    for path in directory.iterdir():
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret ({secret[:6]}…) is in clear in {path.name}"
    return names


def test_no_secret_in_clear_in_any_file_and_every_file_0600(tmp_path):
    old = os.umask(0o022)
    try:
        app = create_app(str(tmp_path / "emu.db"))
        bootstrap = app.state.emulator.bootstrap_secret
        with live_server(app, http="httptools") as base, httpx.Client(base_url=base, headers=auth(bootstrap)) as http:
            secrets = [bootstrap, *_exercise(http)]
            names = _assert_no_secret_in(tmp_path, secrets)
            assert names == ["emu.db", "emu.db-shm", "emu.db-wal", "emu.db.key"]
            assert all(_mode(tmp_path / name) == 0o600 for name in names)
        rows = app.state.emulator.store.conn.execute("SELECT COUNT(*) FROM idempotency WHERE state = 'done'")
        assert rows.fetchone()[0] == 6  # the responses are stored, only sealed
        app.state.emulator.store.conn.close()
    finally:
        os.umask(old)
    _assert_no_secret_in(tmp_path, secrets)
    # Reopened: the bootstrap key is found again (sealed under the key file), not stored in clear.
    assert create_app(str(tmp_path / "emu.db")).state.emulator.bootstrap_secret == bootstrap


def test_idempotency_records_are_swept_after_24_hours(tmp_path):
    app = create_app(str(tmp_path / "emu.db"))
    conn = app.state.emulator.store.conn
    with live_server(app) as base, httpx.Client(base_url=base, headers=auth(app.state.emulator.bootstrap_secret)) as http:
        _exercise(http)
        assert conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 6
        assert http.post("/_emulator/clock", json={"advance_seconds": 23 * 3600}).status_code == 200
        http.post(f"{API}/projects/create", json={"name": "tick"})
        assert conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 6  # within retention
        assert http.post("/_emulator/clock", json={"advance_seconds": 25 * 3600}).status_code == 200
        http.post(f"{API}/projects/create", json={"name": "tock"})  # no idempotency key: the sweep runs anyway
        assert conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_under_umask_022(tmp_path):
    db, port = tmp_path / "served.db", _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile.emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, umask=0o022,
    )
    try:
        printed = ""
        for line in proc.stdout:  # EOF if the server dies, so this cannot hang on a dead process
            printed += line
            if line.startswith("Listening on"):
                break
        bootstrap = printed.split("Bootstrap key (shown once): ", 1)[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "the emulator did not start"
                time.sleep(0.05)  # waiting for a process to listen, not for emulated time
        with httpx.Client(base_url=base, headers=auth(bootstrap)) as http:
            secrets = [bootstrap, *_exercise(http)]
        names = _assert_no_secret_in(tmp_path, secrets)
        assert names == ["served.db", "served.db-shm", "served.db-wal", "served.db.key"]
        assert {name: _mode(tmp_path / name) for name in names} == {name: 0o600 for name in names}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
        proc.stderr.close()
    _assert_no_secret_in(tmp_path, secrets)
    again = subprocess.run([sys.executable, "-m", "reconcile.emulator", "bootstrap-key", "--db", str(db)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == bootstrap


def test_local_mode_under_umask_022(tmp_path):
    db = tmp_path / "local.db"
    old = os.umask(0o022)
    try:
        with open_client(Connection(endpoint=None, local_db=str(db))) as client:
            assert client.get("/v1/account/whoami")["caller"]["key_id"].startswith("key_")
            names = sorted(p.name for p in tmp_path.iterdir())
            assert names == ["local.db", "local.db-shm", "local.db-wal", "local.db.key"]
            assert {name: _mode(tmp_path / name) for name in names} == {name: 0o600 for name in names}
    finally:
        os.umask(old)
    # The whole CLI, as a user runs it: apply (keys and a webhook created), then rotate a key.
    cli = [sys.executable, "-m", "reconcile.cli.main"]
    quickstart = str(REPO / "examples" / "quickstart")
    issued: set[str] = set()
    for extra in ([], ["--replace", "projects.web.keys.ci"]):
        run = subprocess.run([*cli, "apply", quickstart, "--local", str(db), "--auto-approve",
                              "--secrets-out", str(tmp_path / "secrets.json"), *extra],
                             capture_output=True, text=True, umask=0o022, cwd=tmp_path, timeout=120)
        assert run.returncode == 0, run.stderr
        records = json.loads((tmp_path / "secrets.json").read_text())["secrets"].values()
        issued |= {record["value"] for record in records}
    assert len(issued) == 4  # two keys, the webhook, the rotated key
    for name in ("local.db", "local.db.key", "local.db-wal", "local.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert _mode(path) == 0o600
            assert not [s for s in issued if s.encode() in path.read_bytes()]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE k = 'bootstrap_secret'").fetchone()[0] == 0


def test_a_database_without_its_key_file_is_refused_clearly(tmp_path):
    db = tmp_path / "emu.db"
    create_app(str(db)).state.emulator.store.conn.close()
    (tmp_path / "emu.db.key").unlink()
    run = subprocess.run([sys.executable, "-m", "reconcile.emulator", "bootstrap-key", "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"the key file {db}.key of this emulator database is missing" in run.stderr


def test_an_older_database_is_converted_on_open(tmp_path):
    """An earlier version kept the bootstrap and webhook secrets in clear and shared
    idempotency records between callers: opening it seals them and drops the records."""
    db = tmp_path / "old.db"
    app = create_app(str(db))
    bootstrap = app.state.emulator.bootstrap_secret
    conn = app.state.emulator.store.conn
    conn.executescript(
        "DROP TABLE idempotency; CREATE TABLE idempotency (key TEXT PRIMARY KEY, endpoint TEXT NOT NULL, "
        "fingerprint TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, body TEXT, created REAL NOT NULL);")
    webhook_secret = "whsec_" + "A" * 32
    conn.execute("INSERT INTO meta (k, v) VALUES ('bootstrap_secret', ?)", (bootstrap,))
    conn.execute("DELETE FROM meta WHERE k = 'bootstrap_sealed'")
    conn.execute("INSERT INTO objects (kind, id, body, extra) VALUES ('webhook', 'wh_old', '{}', ?)",
                 (json.dumps({"secret": webhook_secret, "receiver_status": 200}),))
    conn.execute("INSERT INTO idempotency VALUES ('k', 'POST /x', 'f', 'done', 200, ?, 0)",
                 (json.dumps({"key_secret": bootstrap}),))
    conn.close()
    (tmp_path / "old.db.key").unlink()

    reopened = create_app(str(db))
    store = reopened.state.emulator.store
    assert reopened.state.emulator.bootstrap_secret == bootstrap
    assert store.webhook_secret(store.get_extra("wh_old")) == webhook_secret
    assert store.conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0
    store.conn.close()
    _assert_no_secret_in(tmp_path, [bootstrap, webhook_secret])
    assert _mode(tmp_path / "old.db.key") == 0o600


def test_sealing_round_trips_and_refuses_tampering():
    import hmac as std_hmac

    import pytest

    from reconcile.emulator.sealing import SealError, Sealer, _HmacSha256

    key = bytes(range(32))
    assert _HmacSha256(key)(b"message") == std_hmac.digest(key, b"message", "sha256")  # RFC 2104 exactly
    sealer = Sealer(key)
    text = '{"key_secret":"ifr_pk_proj_x","note":"ü\\u2603"}' * 5
    sealed = sealer.seal(text, "replay")
    assert sealer.open(sealed, "replay") == text and text not in sealed
    assert sealer.seal(text, "replay") != sealed  # a fresh nonce every time
    with pytest.raises(SealError):
        sealer.open(sealed, "bootstrap")  # bound to its purpose
    with pytest.raises(SealError):
        Sealer(bytes(32)).open(sealed, "replay")  # another key file
    raw = bytearray(sealed.encode())
    raw[10] = ord("A") if raw[10] != ord("A") else ord("B")
    with pytest.raises(SealError):
        sealer.open(raw.decode(), "replay")
