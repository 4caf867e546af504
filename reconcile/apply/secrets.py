"""Where secrets returned once (a key's `key_secret`, a webhook's signing secret) go.

They are written the moment they arrive, to a file created 0600 (JSON or dotenv), never to
stdout, logs or errors. A sink that fails keeps the secret in a 0600 recovery file and says
where, so it is never lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, Sequence

from ..errors import ReconcileError, SecretSinkError
from ..state import secret_env_name


@dataclass(frozen=True)
class Secret:
    address: str
    kind: str
    field: str
    value: str
    project: str | None = None
    id: str | None = None

    def __repr__(self) -> str:  # never show the value, even in a debugger or a traceback
        return f"Secret({self.address!r}, {self.field!r}, value=<hidden>)"

    @property
    def env_name(self) -> str:
        return secret_env_name(self.address, self.field)


class SecretSink(Protocol):
    def put(self, secret: Secret) -> None: ...


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the start (never a moment world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class FileSink:
    """`--secrets-out FILE`: JSON (default) or dotenv (`.env` suffix or format="dotenv")."""

    def __init__(self, path: str | Path, fmt: str | None = None):
        self.path = Path(path)
        self.format = fmt or ("dotenv" if self.path.suffix == ".env" or self.path.name.endswith(".env") else "json")
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        text = self.path.read_text(encoding="utf-8")
        if self.format == "json":
            try:
                data = json.loads(text or "{}")
            except json.JSONDecodeError as exc:
                raise SecretSinkError(f"{self.path} is not a JSON secrets file ({exc.msg}); "
                                      "refusing to overwrite it") from None
            return data.get("secrets", {}) if isinstance(data, dict) else {}
        entries: dict[str, dict] = {}
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                entries[k] = {"value": json.loads(v) if v.startswith('"') else v}
        return entries

    def put(self, secret: Secret) -> None:
        with self._lock:
            entries = self._read()
            if self.format == "json":
                entries[f"{secret.address}.{secret.field}"] = {
                    "address": secret.address, "kind": secret.kind, "field": secret.field,
                    "id": secret.id, "project": secret.project, "value": secret.value}
                _write_private(self.path, json.dumps({"secrets": entries}, indent=2, sort_keys=True) + "\n")
            else:
                entries[secret.env_name] = {"value": secret.value}
                lines = [f"{k}={json.dumps(v['value'])}" for k, v in sorted(entries.items())]
                _write_private(self.path, "\n".join(lines) + "\n")

    def __str__(self) -> str:
        return str(self.path)

    def has(self, address: str, field: str) -> bool:
        with self._lock:
            entries = self._read()
        if self.format == "json":
            return f"{address}.{field}" in entries
        return Secret(address, "", field, "").env_name in entries


class ExecSink:
    """Runs a command with the secret on standard input and its context in environment
    variables (never in argv, which other users of the machine can read)."""

    def __init__(self, argv: Sequence[str], *, timeout: float = 60.0, env: Mapping[str, str] | None = None):
        if not argv:
            raise SecretSinkError("an exec secret sink needs a command")
        self.argv = list(argv)
        self.timeout = timeout
        self.base_env = dict(env if env is not None else os.environ)

    def __str__(self) -> str:
        shown = self.argv[2] if self.argv[:2] == ["/bin/sh", "-c"] else " ".join(self.argv)
        return f"command `{shown}`"

    def put(self, secret: Secret) -> None:
        env = dict(self.base_env)
        env.update({"INFRAI_SECRET_ADDRESS": secret.address, "INFRAI_SECRET_KIND": secret.kind,
                    "INFRAI_SECRET_FIELD": secret.field, "INFRAI_SECRET_PROJECT": secret.project or "",
                    "INFRAI_SECRET_ID": secret.id or "", "INFRAI_SECRET_ENV_NAME": secret.env_name})
        try:
            proc = subprocess.run(self.argv, input=secret.value.encode(), env=env, capture_output=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretSinkError(f"secret sink {self.argv[0]!r} failed for {secret.address}: "
                                  f"{type(exc).__name__}") from None
        if proc.returncode != 0:
            # Its stderr could echo the secret: report only the exit status.
            raise SecretSinkError(f"secret sink {self.argv[0]!r} exited with status {proc.returncode} "
                                  f"for {secret.address}")


class SecretRouter:
    """Sends each secret to every sink; on any failure keeps it in the recovery file and
    raises, so the executor stops producing more secrets."""

    def __init__(self, sinks: Sequence[SecretSink], recovery_path: str | Path):
        self.sinks = list(sinks)
        self.recovery = FileSink(recovery_path, "json")
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        """Where delivered secrets went, for the apply report."""
        return ", ".join(str(s) for s in self.sinks) or str(self.recovery.path)

    def put(self, secret: Secret) -> None:
        # One secret at a time: sinks are user commands (`vault kv put`, `gh secret set`) that
        # need not be safe to run concurrently, and parallel apply steps would otherwise race.
        with self._lock:
            if not self.sinks:
                # No sink chosen: the recovery file is the sink (like Terraform keeping them in state).
                self._keep(secret)
                self.delivered.append(f"{secret.address}.{secret.field}")
                return
            for sink in self.sinks:
                try:
                    sink.put(secret)
                except Exception as exc:  # noqa: BLE001 - any sink failure must keep the secret
                    self._keep(secret)
                    message = str(exc) if isinstance(exc, ReconcileError) else type(exc).__name__
                    raise SecretSinkError(f"{message}. The secret was kept in {self.recovery.path} (mode 0600).") from None
            self.delivered.append(f"{secret.address}.{secret.field}")

    def _keep(self, secret: Secret) -> None:
        self.recovery.put(secret)


def sinks_from_settings(settings: Mapping[str, object] | None, *, exec_flags: Sequence[str] = (),
                        file_flag: str | None = None) -> list[SecretSink]:
    """The sinks a run uses: `--secrets-out` first, then the config's `secrets.sinks`,
    then `--secret-sink-exec` commands."""
    sinks: list[SecretSink] = []
    if file_flag:
        sinks.append(FileSink(file_flag))
    for entry in (settings or {}).get("sinks", []) or []:  # type: ignore[union-attr]
        if not isinstance(entry, Mapping):
            continue
        timeout = float(entry.get("timeout", 60))
        if "file" in entry:
            sinks.append(FileSink(str(entry["file"])))
        if "exec" in entry:
            sinks.append(ExecSink(_argv(entry["exec"]), timeout=timeout))
    sinks.extend(ExecSink(_argv(cmd)) for cmd in exec_flags)
    return sinks


def _argv(command: object) -> list[str]:
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return [str(part) for part in command]  # type: ignore[union-attr]
