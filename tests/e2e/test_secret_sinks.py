"""Secrets returned once reach exec sinks on stdin only, and a failing sink loses none."""

import json
import os
import stat
import sys
from pathlib import Path

# A stand-in secret store (like `vault kv put`): keeps what it got in a 0600 secrets file.
RECORDER = """\
import json, os, sys
out = sys.argv[1]
secret = sys.stdin.read()
doc = json.load(open(out)) if os.path.exists(out) else {"secrets": {}}
doc["secrets"][os.environ["INFRAI_SECRET_ADDRESS"]] = {"stdin": secret, "argv": sys.argv, "env": dict(os.environ)}
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(doc).encode())
os.close(fd)
"""

CONFIG = """
projects:
  - name: web
    keys:
      - name: ci
      - name: deploy
"""


def test_exec_sink_gets_the_secret_on_stdin_only(run_cli, workdir, emulator, tmp_path):
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    log = tmp_path / "store.json"
    (workdir / "c.yaml").write_text(CONFIG + f"""
secrets:
  sinks:
    - exec: ["{sys.executable}", "{script}", "{log}"]
""")
    result = run_cli("apply", str(workdir), "--local", str(emulator.db), "--auto-approve")
    assert result.exit_code == 0, result.output
    records = list(json.loads(log.read_text())["secrets"].values())
    assert sorted(r["env"]["INFRAI_SECRET_ADDRESS"] for r in records) == ["projects.web.keys.ci", "projects.web.keys.deploy"]
    for r in records:
        secret = r["stdin"]
        assert secret.startswith("ifr_pk_proj_")
        assert secret not in json.dumps(r["argv"]) and secret not in json.dumps(r["env"])
        assert r["env"]["INFRAI_SECRET_KIND"] == "api_key" and r["env"]["INFRAI_SECRET_PROJECT"] == "web"
    assert "delivered to command" in result.stdout


def test_failing_sink_keeps_the_secret_and_stops_further_secrets(run_cli, workdir, emulator, tmp_path):
    (workdir / "c.yaml").write_text(CONFIG)
    result = run_cli("apply", str(workdir), "--local", str(emulator.db), "--auto-approve", "--parallelism", "1",
                     "--secret-sink-exec", "cat > /dev/null; exit 3", "--no-color")
    assert result.exit_code == 1
    assert "exited with status 3" in result.stdout
    recovery = Path(".infrai-secrets.json")
    assert stat.S_IMODE(os.stat(recovery).st_mode) == 0o600
    kept = json.loads(recovery.read_text())["secrets"]
    assert len(kept) == 1 and next(iter(kept.values()))["value"].startswith("ifr_pk_proj_")
    assert f"kept in {recovery}" in result.stdout
    # The second key was not created: no secret produced that could not be delivered.
    keys = [k["name"] for k in emulator.items("/v1/account/keys/list") if k["name"] != "bootstrap"]
    assert len(keys) == 1
