"""A file database survives a restart: data, secrets and the bootstrap key."""

from __future__ import annotations

from starlette.testclient import TestClient

from reconcile.emulator import bootstrap_secret, create_app

from .conftest import API, auth


def test_restart_keeps_data_and_secrets(tmp_path):
    db = str(tmp_path / "emu.db")
    first = create_app(db)
    secret = first.state.emulator.bootstrap_secret
    client = TestClient(first, headers=auth(secret))
    project = client.post(f"{API}/projects/create", json={"name": "kept"}).json()
    key = client.post(f"{API}/keys/create", json={"name": "kept"}).json()
    account = client.get(f"{API}/whoami").json()["account_id"]
    first.state.emulator.store.conn.close()

    assert bootstrap_secret(db) == secret
    second = create_app(db)
    assert second.state.emulator.bootstrap_secret == secret
    again = TestClient(second, headers=auth(secret))
    assert again.get(f"{API}/projects/get/{project['id']}").json() == project
    assert again.get(f"{API}/whoami").json()["account_id"] == account
    assert again.get(f"{API}/whoami", headers=auth(key["key_secret"])).status_code == 200


def test_secrets_are_stored_only_as_hmac(tmp_path):
    db = str(tmp_path / "emu.db")
    app = create_app(db)
    client = TestClient(app, headers=auth(app.state.emulator.bootstrap_secret))
    secret = client.post(f"{API}/keys/create", json={}).json()["key_secret"]
    raw = (tmp_path / "emu.db").read_bytes() + (tmp_path / "emu.db-wal").read_bytes()
    assert secret.encode() not in raw


def test_a_revocation_by_another_process_applies_within_a_quarter_second(tmp_path):
    """Authentication lookups are cached until a write; writes by another connection to the
    same file (another process) are noticed through `PRAGMA data_version` within 0.25 s."""
    import time

    db = str(tmp_path / "emu.db")
    serving = create_app(db)
    other = create_app(db)
    owner = serving.state.emulator.bootstrap_secret
    key = TestClient(serving, headers=auth(owner)).post(f"{API}/keys/create", json={}).json()
    as_key = TestClient(serving, headers=auth(key["key_secret"]))
    assert as_key.get(f"{API}/whoami").status_code == 200  # now cached
    assert TestClient(other, headers=auth(owner)).delete(f"{API}/keys/revoke/{key['key_id']}").status_code == 200
    deadline = time.monotonic() + 5.0
    while as_key.get(f"{API}/whoami").status_code == 200:
        assert time.monotonic() < deadline, "the revocation by the other connection was never seen"
        time.sleep(0.02)  # polling a bounded deadline for the cache's own re-check, not emulated time
    assert as_key.get(f"{API}/whoami").status_code == 401
