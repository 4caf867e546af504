"""Saved plans: `plan --out FILE` writes one, `apply FILE` applies exactly its steps.

The file is versioned JSON. It holds the steps as planned, the digest of the config, the
fingerprint of each live object a step was planned against, and never a secret: sensitive
values are kept as the environment variable they came from plus a digest of the value, and
are read from that variable again at apply time (a different value makes the plan stale).

(De)serialisation and the file's integrity; the staleness rules are `reconcile.plan.staleness`.
Imports: errors, kinds, plan (its model and check results).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as secrets_module
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from .. import __version__
from ..errors import PlanFileError, StalePlan
from ..kinds import REGISTRY
from ..plan.checks import CheckResult
from ..plan.model import Action, Change, FieldDiff, LastDeclared, Plan, Source, Unmanaged

FILE_FORMAT = "infrai-reconcile-plan"
FILE_VERSION = 1


_PBKDF2_ROUNDS = 200_000


def _secret_digest(value: str, salt: str | None = None) -> str:
    """A salted, slow digest: a plan file is a CI artifact, and a short secret's plain
    SHA-256 could be brute-forced from it."""
    salt = salt or secrets_module.token_hex(16)
    derived = hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(salt), _PBKDF2_ROUNDS)
    return f"pbkdf2-sha256${_PBKDF2_ROUNDS}${salt}${derived.hex()}"


def _digest_matches(value: str, digest: str) -> bool:
    parts = str(digest).split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2-sha256":
        return False
    derived = hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(parts[2]), int(parts[1]))
    return hmac.compare_digest(derived.hex(), parts[3])


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    created_at: str
    tool_version: str
    options: Mapping[str, Any]
    # address → field → {"env": NAME, "digest": "pbkdf2-sha256$rounds$salt$hash"}
    secrets: Mapping[str, Mapping[str, Mapping[str, str | None]]]
    path: str = ""
    # Random, written at `plan --out`: with the fingerprint it seeds the idempotency keys,
    # so applying this file twice replays its own calls, while an identical plan made
    # another time gets keys of its own.
    nonce: str = ""

    @property
    def idempotency_seed(self) -> str:
        return f"{self.plan.fingerprint}:{self.nonce}"


def dump_plan(plan: Plan, options: Mapping[str, Any], now: datetime | None = None) -> str:
    secrets: dict[str, dict[str, dict[str, str | None]]] = {}
    steps = []
    for c in plan.changes:
        data = c.to_data()
        data["identity"] = list(c.identity)
        data["meta"] = dict(c.meta)
        spec = REGISTRY[c.kind]
        for name in spec.sensitive_fields & set((c.after or {}).keys()):
            value = (c.after or {})[name]
            if value is None:
                continue
            if not c.secret_refs.get(name):
                raise PlanFileError(
                    f"{c.address}.{name} does not come from an environment variable, and a saved plan never "
                    "holds secrets: write it as ${env:NAME} in the config to save this plan")
            secrets.setdefault(c.address, {})[name] = {"env": c.secret_refs[name], "digest": _secret_digest(str(value))}
        steps.append(data)
    doc = {
        "format": FILE_FORMAT,
        "format_version": FILE_VERSION,
        "tool_version": __version__,
        "created_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config_digest": plan.config_digest,
        "live_fingerprint": plan.live_fingerprint,
        "plan_fingerprint": plan.fingerprint,
        "nonce": secrets_module.token_hex(16),
        "options": dict(options),
        "targets": list(plan.targets),
        "summary": plan.counts(),
        "steps": steps,
        "secrets": secrets,
        "unmanaged": [u.to_data() for u in plan.unmanaged],
        "live_counts": dict(plan.live_counts),
        "managed_counts": dict(plan.managed_counts),
        # The check results the plan showed (optional: a file without them has none).
        "checks": [c.to_data() for c in plan.checks],
    }
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_plan(path: str | Path, plan: Plan, options: Mapping[str, Any]) -> None:
    p = Path(path)
    text = dump_plan(plan, options)  # raises before anything is written if it cannot be saved
    if not p.parent.is_dir():
        raise PlanFileError(f"cannot write the plan to {p}: the directory {p.parent} does not exist")
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)  # never a half-written plan file


def is_plan_file(path: str | Path) -> bool:
    p = Path(path)
    if not p.is_file():
        return False
    try:
        with p.open("rb") as f:
            head = f.read(200)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and FILE_FORMAT.encode() in head


def load_plan(path: str | Path, env: Mapping[str, str] | None = None) -> SavedPlan:
    env = os.environ if env is None else env
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise PlanFileError(f"{path}: not an infrai-reconcile plan file")
    if doc.get("format_version") != FILE_VERSION:
        raise PlanFileError(f"{path}: plan format version {doc.get('format_version')} is not supported "
                            f"by this version ({FILE_VERSION}); plan again with this version")
    secrets = doc.get("secrets") or {}
    changes = []
    try:
        for s in doc["steps"]:
            kind = REGISTRY[s["kind"]]
            after = dict(s["after"]) if s.get("after") is not None else None
            refs: dict[str, str] = {}
            for name, info in (secrets.get(s["address"]) or {}).items():
                after = _restore_secret(s["address"], name, info, after, env, path)
                if info.get("env"):
                    refs[name] = info["env"]
            changes.append(Change(
                address=s["address"], kind=kind.name, identity=tuple(s.get("identity") or ()),
                action=Action(s["action"]), before=s.get("before"), after=after,
                diffs=tuple(FieldDiff(d["path"], d.get("before"), d.get("after"), bool(d.get("sensitive")))
                            for d in s.get("diffs", [])),
                reasons=tuple(s.get("reasons", [])), live_id=s.get("id"), depends_on=tuple(s.get("depends_on", [])),
                level=int(s.get("level", 0)), live_fingerprint=s.get("live_fingerprint"), meta=s.get("meta") or {},
                secret_refs=refs, moved_from=s.get("moved_from"), source=Source.from_data(s.get("source")),
                last_declared=LastDeclared.from_data(s.get("last_declared"))))
        plan = Plan(changes=tuple(changes),
                    unmanaged=tuple(Unmanaged(u["address"], u["kind"], u["reason"], bool(u.get("drift")))
                                    for u in doc.get("unmanaged", [])),
                    targets=tuple(doc.get("targets", [])), config_digest=doc.get("config_digest", ""),
                    live_fingerprint=doc.get("live_fingerprint", ""), live_counts=doc.get("live_counts") or {},
                    managed_counts=doc.get("managed_counts") or {},
                    # The previews the reviewer saw: `apply FILE --fail-on` gates on them.
                    checks=tuple(CheckResult.from_data(c) for c in doc.get("checks") or []))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: the plan file is damaged ({type(exc).__name__}: {exc})") from None
    if plan.fingerprint != doc.get("plan_fingerprint"):
        raise PlanFileError(f"{path}: the plan file was edited after it was written (fingerprint mismatch)")
    return SavedPlan(plan, doc.get("created_at", ""), doc.get("tool_version", ""), doc.get("options") or {},
                     secrets, str(path), str(doc.get("nonce", "")))


def _restore_secret(address: str, name: str, info: Mapping[str, Any], after: dict[str, Any] | None,
                    env: Mapping[str, str], path: str | Path) -> dict[str, Any] | None:
    if after is None:
        return after
    var = info.get("env")
    if not var:
        raise PlanFileError(f"{path}: {address}.{name} does not come from an environment variable, and a saved "
                            "plan never holds secrets. Write it as ${env:NAME} and plan again.")
    value = env.get(var)
    if value is None:
        raise PlanFileError(f"{address}.{name} comes from the environment variable {var}, which is not set; "
                            "set it to the value used at plan time")
    if not _digest_matches(value, str(info.get("digest"))):
        raise StalePlan(f"plan is stale: {address}.{name} (from {var}) has a different value than at plan time")
    return {**after, name: value}
