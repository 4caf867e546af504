"""Secrets returned once reach exec sinks on stdin only, a failing sink loses none, and the
file sink costs O(1) per secret without losing one to a kill."""

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconcile.apply.secrets import PENDING_SUFFIX, FileSink, Secret, SecretRouter
from reconcile.errors import SecretSinkError

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


# -- the file sink: O(1) per secret, and no secret lost to a kill --------------------------
def _secret(i: int) -> Secret:
    return Secret(f"projects.p.keys.k{i}", "api_key", "key_secret", f"ifr_pk_proj_test{i:04d}", project="p", id=f"k{i}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_secret_is_one_appended_line_and_the_file_is_rewritten_only_when_folding(tmp_path):
    out = tmp_path / "secrets.json"
    clock = FakeClock()
    sink = FileSink(out, clock=clock)
    for i in range(3):
        sink.put(_secret(i))
    pending = tmp_path / ("secrets.json" + PENDING_SUFFIX)
    lines = pending.read_text().splitlines()
    assert [list(json.loads(line)["secrets"]) for line in lines] == [[f"projects.p.keys.k{i}.key_secret"] for i in range(3)]
    assert not out.exists(), "no rewrite of the whole file per secret"
    assert sink.has("projects.p.keys.k2", "key_secret")
    clock.now += 1.0  # FOLD_EVERY_S later, the next secret brings the file up to date
    sink.put(_secret(3))
    assert len(json.loads(out.read_text())["secrets"]) == 4 and pending.read_text() == ""
    sink.put(_secret(4))
    sink.close()
    secrets = json.loads(out.read_text())["secrets"]
    assert sorted(secrets) == [f"projects.p.keys.k{i}.key_secret" for i in range(5)]
    assert secrets["projects.p.keys.k4.key_secret"]["value"] == "ifr_pk_proj_test0004"
    assert not pending.exists()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


KILLED_WRITER = """\
import os, signal, sys
from reconcile.apply.secrets import FileSink, Secret
sink = FileSink(sys.argv[1])
for i in range(int(sys.argv[2])):
    sink.put(Secret(f"projects.p.keys.k{i}", "api_key", "key_secret", f"ifr_pk_proj_test{i:04d}", project="p", id=f"k{i}"))
os.kill(os.getpid(), signal.SIGKILL)  # never closed: the log is all there is
"""


@pytest.mark.parametrize("name", ["secrets.json", "secrets.env"])
def test_a_writer_killed_before_it_closes_loses_no_secret(tmp_path, name):
    out = tmp_path / name
    old_umask = os.umask(0)  # the log is 0600 whatever the umask
    try:
        done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out), "5"], capture_output=True, text=True)
    finally:
        os.umask(old_umask)
    assert done.returncode == -9, done.stderr
    pending = tmp_path / (name + PENDING_SUFFIX)
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    # Readers see every secret before anything folds the log in.
    again = FileSink(out)
    assert all(again.has(f"projects.p.keys.k{i}", "key_secret") for i in range(5))
    again.close()  # the next apply's sink folds it in
    assert not pending.exists()
    text = out.read_text()
    if name.endswith(".json"):
        assert sorted(json.loads(text)["secrets"]) == [f"projects.p.keys.k{i}.key_secret" for i in range(5)]
    else:
        assert text.splitlines()[0] == 'INFRAI_PROJECTS_P_KEYS_K0_KEY_SECRET="ifr_pk_proj_test0000"'
        assert len(text.splitlines()) == 5
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_torn_last_line_is_skipped_and_never_glued_to_the_next_secret(tmp_path):
    out = tmp_path / "secrets.json"
    with FileSink(out) as sink:
        sink.put(_secret(0))
    pending = tmp_path / ("secrets.json" + PENDING_SUFFIX)
    good = json.dumps({"secrets": {"projects.p.keys.k1.key_secret": {"address": "projects.p.keys.k1", "field": "key_secret",
                                                                      "value": "ifr_pk_proj_test0001"}}})
    pending.write_text(good + "\n" + good[:25])  # a crash in the middle of writing the next one
    os.chmod(pending, 0o600)
    with FileSink(out) as sink:
        sink.put(_secret(2))
    assert sorted(json.loads(out.read_text())["secrets"]) == [f"projects.p.keys.k{i}.key_secret" for i in range(3)]


def test_the_log_is_never_written_through_a_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / ("secrets.json" + PENDING_SUFFIX)).symlink_to(target)
    router = SecretRouter([FileSink(tmp_path / "secrets.json")], tmp_path / "recovery.json")
    with pytest.raises(SecretSinkError, match="kept in"):
        router.put(_secret(0))
    router.close()
    assert target.read_text() == ""
    assert list(json.loads((tmp_path / "recovery.json").read_text())["secrets"]) == ["projects.p.keys.k0.key_secret"]


def test_parallel_puts_all_arrive(tmp_path):
    with SecretRouter([FileSink(tmp_path / "secrets.json")], tmp_path / "recovery.json") as router:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: router.put(_secret(i)), range(200)))
    assert len(json.loads((tmp_path / "secrets.json").read_text())["secrets"]) == 200
    assert len(router.delivered) == 200 and not (tmp_path / "recovery.json").exists()
