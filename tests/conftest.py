"""Suite-wide secret scan: no secret the emulator issued may appear in anything the CLI wrote.

While the session runs, every secret the emulator generates (API key secrets, generated
webhook signing secrets, the bootstrap key) is recorded by wrapping the emulator's secret
factories (an in-process emulator, `--local` in process, or uvicorn in a thread of this
process; a CLI subprocess with its own `--local` emulator is not seen, so the reliability
tests serve the emulator from this process). Tests that run the CLI register what it wrote
with the `secret_scan` fixture: its stdout/stderr, and its working directory (plan files,
journals, drift reports, exports...). Log records of `reconcile.*` (not the emulator's own)
are recorded too.

At the end of the session every registered output and every file under a registered
directory is searched for each recorded secret. Allowed: output of runs that asked for
`--show-secrets` and secrets files (the JSON `{"secrets": ...}` or dotenv layout `FileSink`
writes, recovery files included, and its `.pending.jsonl` log). The emulator's own files (its SQLite database, `-wal`,
`-shm` and key file) are scanned like the rest: it keeps secrets only as HMACs or sealed.
Anything else fails the session loudly, naming the place and the secret's kind, never the
secret.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

TOKEN = re.compile(rb"(?:ifr_pk_proj_|whsec_)[A-Za-z0-9+/=]+")
MAX_FILE_BYTES = 20 * 2**20


class SecretScan:
    def __init__(self) -> None:
        self.issued: set[bytes] = set()
        self.outputs: list[tuple[str, str]] = []
        self.dirs: list[Path] = []

    # -- recording -------------------------------------------------------------------
    def record(self, secret: str) -> None:
        self.issued.add(secret.encode())

    def output(self, where: str, stdout: str, stderr: str, *, allow: bool = False) -> None:
        """A CLI run's streams; `allow` for `--show-secrets` runs, which print secrets on purpose."""
        if not allow:
            self.outputs.append((f"{where} (stdout)", stdout))
            self.outputs.append((f"{where} (stderr)", stderr))

    def directory(self, path: Path) -> None:
        self.dirs.append(Path(path))

    # -- scanning --------------------------------------------------------------------
    def leaks(self, data: bytes) -> list[str]:
        found = [m.group(0) for m in TOKEN.finditer(data)]
        # Report the kind and length only: the failure message must not leak it either.
        return sorted({f"{t[:6].decode()}… ({len(t)} chars)" for t in found if t in self.issued})

    def findings(self) -> list[str]:
        out = []
        for where, text in self.outputs:
            for leak in self.leaks(text.encode("utf-8", "surrogateescape")):
                out.append(f"{where}: {leak}")
        seen: set[Path] = set()
        for root in self.dirs:
            if not root.exists():
                continue
            for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
                if path in seen:
                    continue
                seen.add(path)
                try:
                    if path.stat().st_size > MAX_FILE_BYTES:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if _allowed_file(path, data):
                    continue
                for leak in self.leaks(data):
                    out.append(f"{path}: {leak}")
        return out


def _allowed_file(path: Path, data: bytes) -> bool:
    # A secrets file by its shape (FileSink's JSON or dotenv, or an exec sink's own store);
    # its 0600 mode is the sink tests' business.
    text = data.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        lines = [line for line in text.splitlines() if line.strip()]
        if path.name.endswith(".pending.jsonl"):  # FileSink's log: one secrets document a line
            return bool(lines) and all(_is_secrets_doc(line) for line in lines)
        return bool(lines) and all(re.fullmatch(r"INFRAI_[A-Z0-9_]+=.*", line) for line in lines)
    return isinstance(doc, dict) and set(doc) == {"secrets"} and isinstance(doc["secrets"], dict)


def _is_secrets_doc(line: str) -> bool:
    try:
        doc = json.loads(line)
    except ValueError:
        return False
    return isinstance(doc, dict) and set(doc) == {"secrets"} and isinstance(doc["secrets"], dict)


SCAN = SecretScan()


def _recording(fn: Callable[..., str], transform: Callable[[str], str] = lambda s: s) -> Callable[..., str]:
    def wrapper(*args: Any, **kwargs: Any) -> str:
        value = fn(*args, **kwargs)
        SCAN.record(transform(value))
        return value

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


class _LogRecorder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("reconcile") and not record.name.startswith("reconcile.emulator"):
            try:
                SCAN.outputs.append((f"log record of {record.name}", self.format(record)))
            except Exception:  # noqa: BLE001 - a bad log call is not this plugin's failure
                pass


_PATCHES: list[tuple[Any, str, Any]] = []
_HANDLER = _LogRecorder()


def pytest_configure(config: pytest.Config) -> None:
    from reconcile.emulator import routes_projects_keys, routes_webhooks, store

    for module, name, wrapped in (
        (routes_projects_keys, "new_key_secret", _recording(routes_projects_keys.new_key_secret)),
        (store, "new_key_secret", _recording(store.new_key_secret)),
        # Webhook signing secrets are "whsec_" + random_base62(32) (routes_webhooks.py).
        (routes_webhooks, "random_base62", _recording(routes_webhooks.random_base62, lambda s: "whsec_" + s)),
    ):
        _PATCHES.append((module, name, getattr(module, name)))
        setattr(module, name, wrapped)
    logging.getLogger().addHandler(_HANDLER)


def pytest_unconfigure(config: pytest.Config) -> None:
    for module, name, original in reversed(_PATCHES):
        setattr(module, name, original)
    _PATCHES.clear()
    logging.getLogger().removeHandler(_HANDLER)


@pytest.fixture(scope="session")
def secret_scan() -> Iterator[SecretScan]:
    """Register CLI output and working directories; the session's scan runs at teardown."""
    yield SCAN
    findings = SCAN.findings()
    assert not findings, ("emulator-issued secrets found where the CLI must never write them "
                          "(only secrets files and --show-secrets output may hold them):\n  "
                          + "\n  ".join(findings))
