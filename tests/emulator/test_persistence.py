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
