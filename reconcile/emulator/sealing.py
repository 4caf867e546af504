"""Secrets the emulator must be able to read back, sealed under a key kept outside the DB.

Every API key secret is stored only as an HMAC (store.py). Three things must be readable
again: the bootstrap key (so `--local` and `bootstrap-key` find it), a webhook's signing
secret (deliveries are signed with it) and the stored responses that idempotent replays send
back (they carry `key_secret`s and generated `whsec_` secrets). Those are sealed with
`Sealer` under a 32-byte key in a file beside the database (`<db>.key`, created 0600), so
the database file, its WAL and any copy of them hold no secret in clear.

The construction uses only the standard library (no AEAD is in it): encrypt-then-MAC with
keys derived from the file's key by HMAC-SHA-256 under distinct labels; a random 16-byte
nonce per record; the keystream is HMAC-SHA-256(enc_key, nonce ‖ counter) blocks (a PRF in
counter mode); the tag is HMAC-SHA-256(mac_key, version ‖ purpose ‖ nonce ‖ ciphertext),
checked in constant time before anything is decrypted. `purpose` binds a record to its use,
so a sealed webhook secret cannot be passed off as a stored response.

Imports: the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3

VERSION = b"s1"
NONCE_BYTES = 16
TAG_BYTES = 32
KEY_BYTES = 32


class SealError(ValueError):
    """A sealed record that does not verify under this key (tampered, or another key)."""


class KeyFileError(sqlite3.DatabaseError):
    """The key file beside an emulator database is missing or unreadable (the database
    cannot be opened without it; a DatabaseError so callers that report unopenable
    databases report this one too)."""


class _HmacSha256:
    """HMAC-SHA-256 (RFC 2104) under one fixed key, the padded key's hash states computed
    once: a block costs two `hashlib` copies instead of OpenSSL's per-call HMAC set-up
    (~5x cheaper; a stored replay seals a few hundred bytes = a dozen blocks)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # keys here are 32 bytes, below SHA-256's 64-byte block
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("sealing key must be 32 bytes")
        self._enc = _HmacSha256(hmac.digest(key, b"infrai-emulator seal enc", "sha256"))
        self._mac = _HmacSha256(hmac.digest(key, b"infrai-emulator seal mac", "sha256"))
        self._fp = _HmacSha256(hmac.digest(key, b"infrai-emulator fingerprint", "sha256"))

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        enc = self._enc
        return b"".join([enc(nonce + counter.to_bytes(8, "big")) for counter in range((length + 31) // 32)])[:length]

    def _tag(self, purpose: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
        return self._mac(VERSION + len(purpose).to_bytes(2, "big") + purpose + nonce + ciphertext)

    def seal(self, plaintext: str, purpose: str) -> str:
        data = plaintext.encode("utf-8", "surrogatepass")
        nonce = secrets.token_bytes(NONCE_BYTES)
        stream = self._keystream(nonce, len(data))
        ciphertext = (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")
        tag = self._tag(purpose.encode(), nonce, ciphertext)
        return VERSION.decode() + ":" + base64.b64encode(nonce + ciphertext + tag).decode("ascii")

    def open(self, sealed: str, purpose: str) -> str:
        prefix, _, encoded = sealed.partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise SealError("not a sealed record") from None
        if prefix.encode() != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealError("not a sealed record")
        nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(purpose.encode(), nonce, ciphertext)):
            raise SealError("sealed record does not verify (tampered, or sealed under another key file)")
        stream = self._keystream(nonce, len(ciphertext))
        data = (int.from_bytes(ciphertext, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(ciphertext), "big")
        return data.decode("utf-8", "surrogatepass")

    def fingerprint(self, text: str) -> str:
        """A keyed digest (a request body may hold a caller-chosen webhook secret, which a
        plain hash would let anyone holding the database test guesses against)."""
        return self._fp(text.encode("utf-8", "surrogatepass")).hex()


def create_private_file(path: str) -> bool:
    """Create `path` empty with mode 0600 whatever the umask; False if it already existed
    (then its mode is narrowed to 0600 if it was wider)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        restrict_mode(path)
        return False
    os.fchmod(fd, 0o600)  # a umask cannot widen 0600, but a mode given by os.open can be narrowed: be exact
    os.close(fd)
    return True


def restrict_mode(path: str) -> None:
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        pass  # not ours, or gone: SQLite reports what matters when it opens the file


def load_or_create_key(path: str, *, create: bool) -> bytes:
    """The 32-byte key in `path` (hex text). With `create`, a missing file is made 0600 and
    atomically (written under a temporary name, then linked), so two processes opening a
    new database at once agree on one key."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            raise KeyFileError(
                f"the key file {path} of this emulator database is missing: the sealed secrets "
                "(bootstrap key, webhook secrets, stored replays) cannot be read without it. "
                "Restore it, or delete the database to start a new account"
            ) from None
    temporary = f"{path}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_hex(KEY_BYTES).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race: use its key
    finally:
        os.unlink(temporary)
    return _read_key(path)


def _read_key(path: str) -> bytes:
    with open(path, "rb") as fh:
        text = fh.read(4096).strip()
    restrict_mode(path)
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"the key file {path} is not an emulator key file (64 hex characters expected)")
    return key
