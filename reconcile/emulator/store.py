"""SQLite storage of the emulator: schema, ids, secrets, bootstrap and generic object rows.

One connection per app (`check_same_thread=False`, autocommit, WAL for files). Every API
object is a row of `objects` whose `body` is the public JSON text, so reads and list pages
are served from stored text without re-serialising; `extra` holds what is never returned
(a webhook's signing secret, sealed (sealing.py); a simulated receiver's status). Single
account per database. Key secrets are stored only as HMAC-SHA-256 under a per-database pepper
(a lookup index over 238-bit random secrets, so keeping the pepper beside it costs nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import string
import time
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, Iterator

from .clock import Clock, iso, month_label
from .errors import validation_error
from .sealing import Sealer, create_private_file, load_or_create_key, restrict_mode

BASE62 = string.digits + string.ascii_letters
SECRET_PREFIX = "ifr_pk_proj_"
MICRO = 1_000_000
OTHER_WRITERS_CHECK_SECONDS = 0.25
_BODY = itemgetter(1)  # the body of a (seq, body) row, at C speed for list pages

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    parent TEXT,
    uniq TEXT,
    state TEXT,
    body TEXT NOT NULL,
    extra TEXT
);
CREATE INDEX IF NOT EXISTS objects_kind_seq ON objects (kind, seq);
CREATE INDEX IF NOT EXISTS objects_parent_seq ON objects (parent, kind, seq);
CREATE UNIQUE INDEX IF NOT EXISTS objects_uniq ON objects (kind, uniq) WHERE uniq IS NOT NULL;
CREATE TABLE IF NOT EXISTS key_secrets (
    hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS key_secrets_key ON key_secrets (key_id);
CREATE TABLE IF NOT EXISTS usage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    capability TEXT NOT NULL,
    requests INTEGER NOT NULL,
    spend_micro INTEGER NOT NULL,
    ingress_bytes INTEGER NOT NULL,
    egress_bytes INTEGER NOT NULL,
    project_id TEXT
);
CREATE INDEX IF NOT EXISTS usage_ts ON usage (ts);
"""

# Idempotency records are scoped by the calling key (`caller` = its key_id); `body` is the
# stored response sealed under the key file (it may carry secrets).
IDEMPOTENCY_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);
"""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def usd(micro: int) -> float:
    """Micro-dollars (the internal unit, exact) to the JSON number the API returns."""
    return round(micro / MICRO, 6)


def to_micro(amount: float) -> int:
    return int(round(amount * MICRO))


def random_base62(length: int) -> str:
    """`length` uniform base62 characters from the OS CSPRNG.

    One `token_bytes` call, bytes ≥ 248 (= 4 × 62) dropped so `% 62` stays unbiased: the
    same distribution as `secrets.choice` per character, at a tenth of the CPU (a key
    create draws an id and a 40-character secret; figures: docs/benchmarks.md).
    """
    out = ""
    while len(out) < length:
        out += "".join([BASE62[b % 62] for b in secrets.token_bytes(length + 8) if b < 248])
    return out[:length]


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_base62(16)}"


def new_key_secret() -> str:
    return SECRET_PREFIX + random_base62(40)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s") or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError(cursor)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError, TypeError):
        raise validation_error("cursor", "cursor is not a cursor this API returned") from None


def is_memory_path(db_path: str) -> bool:
    return db_path == ":memory:" or db_path.startswith("file::memory:")


def key_file_path(db_path: str) -> str:
    """Where the sealing key of the database at `db_path` lives (see sealing.py)."""
    return db_path + ".key"


class Store:
    """The emulator's database: schema on open, bootstrap on first use.

    A file database and everything SQLite writes beside it (`-wal`, `-shm`) and its key file
    are created 0600 whatever the umask: SQLite gives its side files the database's mode.
    """

    def __init__(self, db_path: str, clock: Clock) -> None:
        self.clock = clock
        self.db_path = db_path
        memory = is_memory_path(db_path)
        if not memory:
            _prepare_private_files(db_path)
        self.conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        if not memory:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows (swept replays, a migrated clear secret) are zeroed, not left in free pages.
        self.conn.execute("PRAGMA secure_delete=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._read_cache: dict[Any, Any] = {}
        self._read_cache_changes = self._read_cache_version = -1
        self._next_version_check = 0.0
        self.conn.executescript(SCHEMA)
        legacy_idempotency = self.conn.execute(
            "SELECT 1 FROM pragma_table_info('idempotency') WHERE name = 'key'").fetchone() is not None and \
            self.conn.execute("SELECT 1 FROM pragma_table_info('idempotency') WHERE name = 'caller'").fetchone() is None
        if legacy_idempotency:
            # Written by an earlier version: shared by every caller and holding secrets in clear.
            self.conn.execute("DROP TABLE idempotency")
        self.conn.executescript(IDEMPOTENCY_SCHEMA)
        # An in-flight idempotency row left by a killed process can never finish: let retries run.
        self.conn.execute("DELETE FROM idempotency WHERE state = 'in_flight'")
        pepper = self.meta_get("pepper")
        legacy_secret = self.meta_get("bootstrap_secret")
        if memory:
            self.sealer = Sealer(secrets.token_bytes(32))
        else:
            self.sealer = Sealer(load_or_create_key(key_file_path(db_path),
                                                    create=pepper is None or legacy_secret is not None))
        if pepper is None:
            bootstrap(self)
            pepper = self.meta_get("pepper")
        self.pepper = bytes.fromhex(pepper or "")
        self.account_id = self.meta_get("account_id") or ""
        if legacy_secret is not None or legacy_idempotency:
            _migrate_clear_secrets(self, legacy_secret)
        if not memory:
            for suffix in ("-wal", "-shm"):
                restrict_mode(db_path + suffix)

    def read_cache(self) -> dict[Any, Any]:
        """A cache of values read from the database, emptied whenever anything was written
        since it was filled: by this connection (`total_changes`, checked every call) or by
        another process (`PRAGMA data_version`, checked at most every 0.25 s: a query as
        costly as the lookup it saves). Authentication keeps its lookups here, so revoking,
        rotating or re-scoping a key through this emulator applies to the very next request,
        and through another process sharing the file within a quarter of a second."""
        changes = self.conn.total_changes
        now = time.monotonic()
        if changes != self._read_cache_changes or now >= self._next_version_check:
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            self._next_version_check = now + OTHER_WRITERS_CHECK_SECONDS
            if changes != self._read_cache_changes or version != self._read_cache_version:
                self._read_cache.clear()
                self._read_cache_changes, self._read_cache_version = changes, version
        return self._read_cache

    def bootstrap_secret(self) -> str:
        sealed = self.meta_get("bootstrap_sealed")
        return self.sealer.open(sealed, "bootstrap") if sealed else ""

    def seal_webhook_secret(self, secret: str) -> str:
        return self.sealer.seal(secret, "webhook-secret")

    def webhook_secret(self, extra: dict[str, Any]) -> str:
        sealed = extra.get("sealed_secret")
        return self.sealer.open(sealed, "webhook-secret") if sealed else ""

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; callers must not await inside it (one shared connection).

        Inside an enclosing transaction (the idempotency guard's, which commits a request's
        effect together with its stored response) the block is a savepoint: it stays atomic
        on its own, and the enclosing transaction decides when it is committed.
        """
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT tx")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO tx")
                self.conn.execute("RELEASE tx")
                raise
            self.conn.execute("RELEASE tx")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta and singletons -------------------------------------------------------------
    def meta_get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))

    def doc(self, name: str) -> dict[str, Any]:
        text = self.meta_get("doc:" + name)
        return json.loads(text) if text else {}

    def set_doc(self, name: str, value: dict[str, Any]) -> None:
        self.meta_set("doc:" + name, dumps(value))

    # -- secrets -------------------------------------------------------------------------
    def hash_secret(self, secret: str) -> str:
        return hmac.digest(self.pepper, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hex()

    def add_secret(self, key_id: str, secret: str, expires_at: float | None = None) -> None:
        self.conn.execute(
            "INSERT INTO key_secrets (hash, key_id, expires_at) VALUES (?, ?, ?)",
            (self.hash_secret(secret), key_id, expires_at),
        )

    # -- generic objects -----------------------------------------------------------------
    def insert(
        self,
        kind: str,
        ident: str,
        body: dict[str, Any],
        *,
        parent: str | None = None,
        uniq: str | None = None,
        state: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO objects (kind, id, parent, uniq, state, body, extra) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, ident, parent, uniq, state, dumps(body), dumps(extra) if extra is not None else None),
        )

    def get_text(self, kind: str, ident: str) -> str | None:
        row = self.conn.execute("SELECT body FROM objects WHERE id = ? AND kind = ?", (ident, kind)).fetchone()
        return row[0] if row else None

    def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        text = self.get_text(kind, ident)
        return json.loads(text) if text is not None else None

    def get_extra(self, ident: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT extra FROM objects WHERE id = ?", (ident,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def update(self, ident: str, body: dict[str, Any], **columns: Any) -> None:
        assignments = ["body = ?"]
        values: list[Any] = [dumps(body)]
        for column in ("uniq", "state", "parent"):
            if column in columns:
                assignments.append(f"{column} = ?")
                values.append(columns[column])
        if "extra" in columns:
            assignments.append("extra = ?")
            values.append(dumps(columns["extra"]))
        values.append(ident)
        self.conn.execute(f"UPDATE objects SET {', '.join(assignments)} WHERE id = ?", values)

    def delete(self, ident: str) -> None:
        self.conn.execute("DELETE FROM objects WHERE id = ?", (ident,))

    def uniq_taken(self, kind: str, uniq: str, except_id: str | None = None) -> bool:
        row = self.conn.execute("SELECT id FROM objects WHERE kind = ? AND uniq = ?", (kind, uniq)).fetchone()
        return row is not None and row[0] != except_id

    def all(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        if parent is None:
            rows = self.conn.execute("SELECT body FROM objects WHERE kind = ? ORDER BY seq", (kind,))
        else:
            rows = self.conn.execute(
                "SELECT body FROM objects WHERE parent = ? AND kind = ? ORDER BY seq", (parent, kind)
            )
        return [json.loads(row[0]) for row in rows]

    def all_containing(self, kind: str, text: str) -> list[dict[str, Any]]:
        """Objects of `kind` whose stored JSON contains `text`: a cheap prefilter in SQL
        (callers check the parsed objects), so an event on an account with hundreds of
        webhooks does not parse every one of them on every key create."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.conn.execute(
            "SELECT body FROM objects WHERE kind = ? AND body LIKE ? ESCAPE '\\' ORDER BY seq", (kind, pattern)
        )
        return [json.loads(row[0]) for row in rows]

    def count(self, kind: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM objects WHERE kind = ?", (kind,)).fetchone()[0])

    def page_text(
        self,
        kind: str,
        *,
        cursor: str | None,
        limit: int | None,
        parent: str | None = None,
        exclude_state: str | None = None,
        newest_first: bool = False,
    ) -> str:
        """A list page as JSON text, items joined from stored bodies (no per-item parsing).

        Insertion order (seq ascending) keeps pages stable while items are added; the
        cursor is the last returned item's seq. `newest_first` lists ledgers newest first
        (the cursor then walks towards older items, also stable under appends).
        """
        after = decode_cursor(cursor) if cursor else None
        clauses = ["kind = ?"]
        values: list[Any] = [kind]
        if parent is not None:
            clauses.append("parent = ?")
            values.append(parent)
        if exclude_state is not None:
            clauses.append("(state IS NULL OR state != ?)")
            values.append(exclude_state)
        if after is not None:
            clauses.append("seq < ?" if newest_first else "seq > ?")
            values.append(after)
        order = "DESC" if newest_first else "ASC"
        # limit None: every item, one page (a list the contract documents unpaginated).
        values.append(-1 if limit is None else limit + 1)
        rows = self.conn.execute(
            f"SELECT seq, body FROM objects WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?", values
        ).fetchall()
        more = limit is not None and len(rows) > limit
        rows = rows[:limit]
        next_cursor = dumps(encode_cursor(rows[-1][0])) if more and rows else "null"
        return '{"items":[' + ",".join(map(_BODY, rows)) + '],"next_cursor":' + next_cursor + "}"

    # -- account -------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        return self.doc("account")

    def balance_micro(self) -> int:
        return int(self.account()["balance_micro"])

    def add_transaction(self, kind: str, amount_micro: int, description: str, *, ts: float | None = None) -> dict[str, Any]:
        """Apply `amount_micro` to the balance and append the ledger entry (inside a tx)."""
        account = self.account()
        account["balance_micro"] = int(account["balance_micro"]) + amount_micro
        self.set_doc("account", account)
        txn: dict[str, Any] = {
            "id": new_id("txn"),
            "type": kind,
            "amount_usd": usd(amount_micro),
            "balance_after_usd": usd(account["balance_micro"]),
            "created_at": iso(ts if ts is not None else self.clock.now()),
            "description": description,
        }
        self.insert("txn", txn["id"], txn, state=kind)
        return txn


def bootstrap(store: Store) -> None:
    """First use of a database: one account with its default project, key and card."""
    now = store.clock.now()
    created = iso(now)
    with store.tx():
        store.meta_set("pepper", secrets.token_hex(32))
        store.pepper = bytes.fromhex(store.meta_get("pepper") or "")
        account_id = new_id("acct")
        store.meta_set("account_id", account_id)
        store.set_doc(
            "account",
            {"account_id": account_id, "kind": "personal", "status": "active", "tier": "standard",
             "balance_micro": 0, "created_at": created},
        )
        project_id = new_id("proj")
        project: dict[str, Any] = {"id": project_id, "name": "default", "scopes": [], "metadata": {},
                   "rate_limit_rpm": None, "created_at": created}
        store.insert("project", project_id, project, uniq="default")
        key_id = new_id("key")
        key: dict[str, Any] = {"key_id": key_id, "name": "bootstrap", "label": "bootstrap", "project_id": project_id,
               "scopes": [], "status": "active", "created_at": created, "last_rotated_at": None,
               "grace_expires_at": None}
        store.insert("key", key_id, key, parent=project_id, uniq=f"{project_id}\0bootstrap", state="active")
        secret = new_key_secret()
        store.add_secret(key_id, secret)
        # Hashed like every key; the sealed copy lets `--local` and `bootstrap-key` find it again.
        store.meta_set("bootstrap_sealed", store.sealer.seal(secret, "bootstrap"))
        store.meta_set("bootstrap_key_id", key_id)
        store.meta_set("default_project_id", project_id)
        pm_id = new_id("pm")
        store.insert("pm", pm_id, {"id": pm_id, "brand": "visa", "last4": "4242", "is_default": True},
                     extra={"failing": False})
        store.set_doc("budget", {"period": "monthly", "hard_cap_usd": None, "alert_threshold_usd": None})
        store.set_doc("routing", {"chain_override": None, "failover_policy": "sequential", "pinned_vendors": []})
        store.set_doc("autorecharge", {"enabled": False, "trigger_balance": 0, "recharge_amount": 0,
                                       "payment_method_id": None, "max_per_day": 3, "max_per_month": 20})
        store.set_doc("subscription", {"status": "active", "cancel_at_period_end": False, "cancel_reason": None})
        store.set_doc("tier_pending", {"pending_tier": None, "pending_effective_at": None})
        store.set_doc("wallet", {"forfeited_micro": 0})
        # Seed history: the sign-in credit, and last month's (empty, paid) invoice.
        store.add_transaction("credit", 2 * MICRO, "Sign-in free credit", ts=now)
        previous_month = now - 32 * 86400
        invoice_id = new_id("inv")
        store.insert("invoice", invoice_id, {
            "id": invoice_id, "period": month_label(previous_month), "total_usd": 0.0, "status": "paid",
            "line_items": [{"description": "Standard tier subscription", "quantity": 1, "amount_usd": 0.0}],
            "pdf_url": f"/_emulator/invoices/{invoice_id}.pdf", "created_at": iso(previous_month),
        })


def _prepare_private_files(db_path: str) -> None:
    """Create a new database file 0600 before SQLite does (it would use 0644 under umask
    022, and copies the database's mode to `-wal`/`-shm`); narrow an existing one."""
    try:
        create_private_file(db_path)
    except OSError:
        pass  # a missing directory and the like: sqlite3.connect reports it
    for suffix in ("-wal", "-shm"):
        restrict_mode(db_path + suffix)


def _migrate_clear_secrets(store: Store, legacy_secret: str | None) -> None:
    """A database written by an earlier version kept the bootstrap secret and webhook
    secrets in clear: seal them, then rewrite the file so no old page keeps them."""
    with store.tx():
        if legacy_secret is not None:
            store.meta_set("bootstrap_sealed", store.sealer.seal(legacy_secret, "bootstrap"))
            store.conn.execute("DELETE FROM meta WHERE k = 'bootstrap_secret'")
        rows = store.conn.execute("SELECT id, extra FROM objects WHERE kind = 'webhook' AND extra IS NOT NULL")
        for ident, extra_text in rows.fetchall():
            extra = json.loads(extra_text)
            if "secret" in extra:
                extra["sealed_secret"] = store.seal_webhook_secret(extra.pop("secret"))
                store.conn.execute("UPDATE objects SET extra = ? WHERE id = ?", (dumps(extra), ident))
    if not is_memory_path(store.db_path):
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.conn.execute("VACUUM")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
