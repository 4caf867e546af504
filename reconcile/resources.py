"""The two models the planner compares: the desired state (from config) and the live state
(from the API), both keyed by resource address and normalised to one shape.

Imports: errors, kinds, redact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Mapping

from .errors import SourcePosition
from .kinds import REGISTRY, KindSpec, LiveItem
from .redact import mask_values


def canonical_json(value: Any) -> str:
    """One spelling per value: the input of every digest and fingerprint."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def secret_env_name(address: str, field: str) -> str:
    """The environment variable a secret is known by (dotenv sinks, export placeholders):
    `projects.web.keys.ci` + `key_secret` → `INFRAI_PROJECTS_WEB_KEYS_CI_KEY_SECRET`."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", f"{address}_{field}").strip("_").upper()
    return f"INFRAI_{stem}"


def digest(value: Any) -> str:
    import hashlib  # on first use: `validate` digests nothing (2-3 ms of start)

    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


@lru_cache(maxsize=None)
def _managed_fields() -> dict[str, frozenset[str]]:
    """Per kind, the fields a fingerprint covers (all but computed); the registry is static."""
    return {name: frozenset(k for k, f in spec.fields.items() if not f.computed) for name, spec in REGISTRY.items()}


@lru_cache(maxsize=None)
def _sensitive_fields() -> dict[str, frozenset[str]]:
    return {name: spec.sensitive_fields for name, spec in REGISTRY.items()}


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(value)


@dataclass(frozen=True)
class ValueOrigin:
    """Where a field's value came from when the config wrote a reference there: `var_file`
    (`${var:NAME}` set by a var file, at `defined_at`), `var` (set with `--var NAME=...`)
    or `env` (`${env:NAME}`, the environment variable)."""

    origin: str
    variable: str
    defined_at: SourcePosition | None = None


@dataclass(frozen=True)
class DesiredResource:
    """One resource as the config declares it.

    `values` holds only the fields the user wrote (normalised); omitted fields are not
    managed. `meta` holds config-only settings such as `protect` or `rotate_after`.
    `secret_refs` maps a sensitive field to the `${env:NAME}` spelling it came from, so
    saved plans and exports can name the variable without holding the secret.
    `source` spans the resource's lines; `layer` says whether its file is the `base` (the
    first config path) or an `overlay` (a later one); `field_positions` holds each written
    field's (line, column) in that file and `value_origins` the fields whose value came
    from a variable or the environment: what plans cite (docs/environments.md#citations).
    """

    kind: str
    identity: tuple[Any, ...]
    values: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: SourcePosition | None = None
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    layer: str = "base"
    field_positions: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    value_origins: Mapping[str, ValueOrigin] = field(default_factory=dict, compare=False, repr=False)

    @property
    def spec(self) -> KindSpec:
        return REGISTRY[self.kind]

    @cached_property  # asked for often (the loader, the planner, every renderer); never changes
    def address(self) -> str:
        return self.spec.address(self.identity)


@dataclass
class DesiredState:
    """The account as the config declares it, by address."""

    resources: dict[str, DesiredResource] = field(default_factory=dict)
    # Kinds whose undeclared live objects are deleted (config `prune:` or `--prune`).
    prune: set[str] = field(default_factory=set)
    stack: str | None = None
    # The files the state was read from, for digests and messages.
    sources: tuple[str, ...] = ()
    # Free-form settings sections that later stages read (secret sinks, policies).
    settings: dict[str, Any] = field(default_factory=dict)
    # Files among `sources` that declare nothing at all (0 bytes, only comments, `{}`):
    # likely a wrong path; the CLI warns (docs/config-reference.md#files).
    empty_sources: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[DesiredResource]:
        return [r for r in self.resources.values() if r.kind == kind]

    def config_digest(self) -> str:
        """Digest of what was declared; secrets enter only as their env variable names."""
        # The same JSON as masking every value one by one, but values are copied only when
        # something needs masking: per-value Python work was ~0.13 s for 10,000 resources.
        sensitive = _sensitive_fields()
        data = []
        for address in sorted(self.resources):
            r = self.resources[address]
            masked = sensitive[r.kind]
            values = r.values
            if r.secret_refs or not masked.isdisjoint(values):
                values = mask_values(values, masked, r.secret_refs)
            data.append([address, _plain(values), _plain(r.meta)])
        return digest([data, sorted(self.prune), self.stack])


@dataclass(frozen=True)
class LiveResource:
    """One object the API returned, filed under its address."""

    kind: str
    address: str
    item: LiveItem

    @property
    def id(self) -> str | None:
        return self.item.id

    @property
    def values(self) -> dict[str, Any]:
        return self.item.values

    def fingerprint(self) -> str:
        """What a saved plan checks before applying a step planned against this object."""
        fields = _managed_fields()[self.kind]
        managed = {k: v for k, v in self.item.values.items() if k in fields}
        return digest([self.item.id, managed])[:16]


@dataclass
class LiveState:
    """The account as the API reports it, by address."""

    resources: dict[str, LiveResource] = field(default_factory=dict)
    # Live objects that share an identity with an earlier one (e.g. two alerts of one
    # threshold): never matched to config, deleted only when their kind is pruned.
    duplicates: list[LiveResource] = field(default_factory=list)
    # The key and project this tool is calling with: never deleted by a prune.
    caller_key_id: str | None = None
    caller_project_id: str | None = None
    # Read-only account facts (balance, usage...) that impact analysis may use.
    facts: dict[str, Any] = field(default_factory=dict)
    # Kinds that were read (a targeted plan may read fewer).
    kinds_read: set[str] = field(default_factory=set)
    requests: int = 0

    def of_kind(self, kind: str) -> list[LiveResource]:
        return [r for r in self.resources.values() if r.kind == kind]

    def fingerprint(self) -> str:
        """Digest of every object's id and values as read, serialised in one pass (a digest
        per object was slower; docs/benchmarks.md). Stored in plans; never recomputed
        to compare with an older one (steps compare `LiveResource.fingerprint`)."""
        return digest([[a, r.item.id, r.item.values] for a, r in sorted(self.resources.items())])
