"""The vocabulary for declaring a resource kind once, as data (like a provider schema).

A `KindSpec` says how a kind is identified, which fields it has and how each behaves
(updatable in place or forcing replacement, sensitive, write-only), which API calls
list/create/update/delete it, and what it depends on. The config schema, live
normalisation, diff, masking, ordering and the executor are all derived from it, and the
kind owns its rules: field validators and cross-field checks (the config loader places
their messages at file:line:column), impact rules, policy checks and rotate calls, so that
no module outside this package names a kind.

Imports: errors only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterable, Mapping, Protocol

from ..errors import KindDefinitionError
from .impact import ImpactRule

Identity = tuple[Any, ...]
# A path below a config item (or below one field of it): ("headers", "X-Trace"), ("scopes", 2).
RelPath = tuple[str | int, ...]
# Problems of one value: (message, path of the offending part, relative to the value).
Problems = Iterable[tuple[str, RelPath]]


@dataclass(frozen=True, eq=False)  # a declaration, compared by identity (see KindSpec)
class Field:
    """One attribute of a kind.

    Legal combinations (checked by `KindSpec.check`):
    - `computed` fields are never `required`, never `write_only` and not in the config.
    - `write_only` fields are sent to the API but never read back, so they are not diffed.
    - `updatable=False` means a change is applied by replacing the resource.
    - Fields the user omits are not managed: their live value is kept and never diffed.
    """

    schema: Mapping[str, Any]
    required: bool = False
    updatable: bool = True
    sensitive: bool = False
    write_only: bool = False
    computed: bool = False
    settable_on_create: bool = True
    normalize: Callable[[Any], Any] | None = None
    description: str = ""
    # Checks beyond the schema of the value as written (the API's own limits); the path of
    # each problem is relative to the field.
    validate: Callable[[Any], Problems] | None = None

    def norm(self, value: Any) -> Any:
        if value is None or self.normalize is None:
            return value
        return self.normalize(value)


@dataclass(frozen=True, eq=False)  # a declaration, compared by identity (see KindSpec)
class Meta:
    """A config-only setting of a resource: it steers the plan, the API never sees it."""

    schema: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True, eq=False)  # a declaration, compared by identity (see KindSpec)
class OwnershipMarker:
    """Where a kind can carry the name of the stack that owns it.

    `field` is a mapping field of the object (a project's `metadata`, a webhook's
    `headers`) and `key` the entry holding the stack name. `inherit` instead means the
    object is owned by whoever owns its parent (a key follows its project).
    """

    field: str | None = None
    key: str | None = None
    inherit: bool = False


@dataclass(frozen=True, eq=False)  # a declaration, compared by identity (see KindSpec)
class Endpoint:
    """One API route of a kind."""

    method: str
    path: str  # may hold `{id}`

    def url(self, id_: str | None = None) -> str:
        return self.path.replace("{id}", id_) if id_ is not None else self.path


@dataclass(frozen=True, eq=False)  # a declaration, compared by identity (see KindSpec)
class KindApi:
    """How the API lists, creates, updates, deletes and rotates objects of a kind."""

    list: Endpoint
    paginated: bool = True
    create: Endpoint | None = None
    update: Endpoint | None = None
    delete: Endpoint | None = None
    rotate: Endpoint | None = None
    id_field: str = "id"
    # Extra query parameters for the list call (e.g. include nothing revoked).
    list_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall:
    """One HTTP call of a step, before ids of resources created earlier are known."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    # What the call does, in words, for reports ("upgrade tier to pro").
    label: str = ""


class IdResolver(Protocol):
    def id_of(self, address: str) -> str: ...


class ReplaceStrategy(str, Enum):
    CREATE_BEFORE_DELETE = "create_before_delete"
    DELETE_BEFORE_CREATE = "delete_before_create"


@dataclass(frozen=True)
class LiveItem:
    """A live object normalised to the shape the config uses."""

    identity: Identity
    values: dict[str, Any]
    id: str | None
    raw: Mapping[str, Any]
    parent_id: str | None = None
    # The address the API's state files it under, when a rename (`renamed_from`) or its
    # parent's rename filed it under a new one for planning (plan/moves.py).
    moved_from: str | None = None


# A declaration: one object per kind, in the registry, compared by identity. eq=False and
# repr=False: no generated __eq__, __hash__ or 31-field __repr__ to compile at import, where
# each dataclass method costs ~0.1 ms of every start (docs/benchmarks.md).
@dataclass(frozen=True, eq=False, repr=False)
class KindSpec:
    """A kind, declared once: its fields, its API and the rules it owns."""

    name: str
    title: str
    config_key: str
    identity: tuple[str, ...]
    fields: Mapping[str, Field]
    api: KindApi
    depends_on: tuple[str, ...] = ()
    parent: str | None = None
    singleton: bool = False
    meta: Mapping[str, Meta] = field(default_factory=dict)
    replace_strategy: ReplaceStrategy = ReplaceStrategy.DELETE_BEFORE_CREATE
    # A deleted object of this kind cannot be brought back as it was (its id or secret is gone).
    delete_is_irreversible: bool = False
    # Response fields that carry a secret returned once (to the secret sinks, never shown).
    secret_outputs: tuple[str, ...] = ()
    description: str = ""
    # Where the owning stack's name is kept; None: the API has no room for it.
    ownership: OwnershipMarker | None = None
    # Config spellings of fields: {"threshold": "threshold_bytes"}.
    config_aliases: Mapping[str, str] = field(default_factory=dict)
    # Per-kind behaviour, as small functions (defaults in this module).
    from_live: Callable[["KindSpec", Mapping[str, Any], "LiveContext"], LiveItem | None] | None = None
    create_calls: Callable[["KindSpec", Mapping[str, Any], Identity, IdResolver], list[ApiCall]] | None = None
    # (kind, after, changed, before, live_id, ids) -> calls
    update_calls: Callable[["KindSpec", Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], str | None, IdResolver], list[ApiCall]] | None = None
    # Why a declared value cannot be reached through the API from this live state (None: it
    # can). The planner then warns instead of planning a call that would fail.
    unreachable: Callable[[Mapping[str, Any], LiveItem], str | None] | None = None
    # Updates cannot be undone by writing the old value back (a tier change is billed).
    updates_are_irreversible: bool = False
    # Live objects of this kind that are never candidates for deletion (e.g. the account owner).
    never_prune: Callable[[LiveItem], str | None] | None = None
    # How the config spells a value; used by export to write it back.
    to_config: Callable[[str, Any], Any] | None = None

    # -- rules the kind owns (read by the config loader, impact, policy and the executor) --
    # Cross-field checks of one declared item: (values as written, normalised values) ->
    # problems with paths relative to the item. The loader adds file:line:column.
    checks: tuple[Callable[[Mapping[str, Any], Mapping[str, Any]], Problems], ...] = ()
    # List fields whose entries must be among the parent's entries of the same field, when
    # the parent lists some (an empty list means everything): a key's scopes.
    within_parent: tuple[str, ...] = ()
    # At most this many may be declared (the API's per-account limit); None: no limit.
    max_declared: int | None = None
    # What the plan's changes to this kind do to money and throughput (kinds/impact.py).
    impact: ImpactRule | None = None
    # Policy rules that apply to changes of this kind: rule name (a field of
    # plan.policy.Policy) -> (the rule's limit, the change as in the JSON plan document) ->
    # messages. Not called for deletes, nor when the policy leaves the rule unset.
    policy: Mapping[str, Callable[[Any, Mapping[str, Any]], list[str]]] = field(default_factory=dict)
    # The calls that rotate a live object's secret: (kind, the change's meta settings, live
    # id) -> calls; None: the kind has no secret to rotate.
    rotate_calls: Callable[["KindSpec", Mapping[str, Any], str | None], list[ApiCall]] | None = None
    # The field of this singleton that is the account's tier (impact reads the planned tier).
    tier_field: str | None = None
    # The tier limit (vocab.TIER_LIMITS) that caps how many objects of this kind the account
    # holds; for a kind with a parent, how many one parent holds.
    tier_limit: str | None = None

    # -- derived -----------------------------------------------------------------
    def address(self, identity: Identity) -> str:
        if self.singleton:
            return self.config_key
        if self.parent is not None:
            from . import REGISTRY  # the parent's address prefix

            parent = REGISTRY[self.parent]
            return f"{parent.address(identity[:-1])}.{self.config_key}{_address_part(identity[-1])}"
        return f"{self.config_key}{_address_part(identity[-1])}"

    def __repr__(self) -> str:
        return f"KindSpec({self.name!r})"

    @property
    def managed_fields(self) -> dict[str, Field]:
        """Fields that appear in the config (everything but computed)."""
        return {k: f for k, f in self.fields.items() if not f.computed}

    @property
    def sensitive_fields(self) -> frozenset[str]:
        return frozenset(k for k, f in self.fields.items() if f.sensitive)

    def normalize(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (self.fields[k].norm(v) if k in self.fields else v) for k, v in values.items()}

    def check(self) -> None:
        """Raise KindDefinitionError when the declaration contradicts itself."""
        problems = []
        for name, f in self.fields.items():
            if f.computed and f.required:
                problems.append(f"field {name!r} is both computed and required")
            if f.computed and f.write_only:
                problems.append(f"field {name!r} is both computed and write-only")
            if f.write_only and not f.sensitive and f.updatable:
                problems.append(f"field {name!r} is write-only: it cannot be diffed, so it must not claim in-place updates")
        for ident in self.identity:
            if ident not in self.fields:
                problems.append(f"identity field {ident!r} is not a field")
        if not self.singleton and self.api.create is None:
            problems.append("a kind with many objects needs a create call")
        if self.singleton and self.identity:
            problems.append("a singleton has no identity fields")
        for name in self.within_parent:
            if name not in self.fields or self.parent is None:
                problems.append(f"within_parent names {name!r}, which is not a field of a kind with a parent")
        if self.tier_field is not None and (not self.singleton or self.tier_field not in self.fields):
            problems.append(f"tier_field {self.tier_field!r} is not a field of a singleton")
        overlap = set(self.meta) & set(self.fields)
        if overlap:
            problems.append(f"names used both as field and meta: {sorted(overlap)}")
        if problems:
            raise KindDefinitionError(f"kind {self.name!r} is inconsistent: " + "; ".join(problems))


@dataclass(eq=False)  # compared by identity: nothing asks two for equality
class LiveContext:
    """What normalising one kind's live items needs to know about others."""

    project_names: dict[str, str] = field(default_factory=dict)


_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


#: `_address_part` of names seen (a project's name recurs in every address under it; an
#: address is built for each declared and each live object): the regex and json.dumps once
#: a name. Bounded, since names come from the config and the API.
_PARTS: dict[str, str] = {}
_MAX_PARTS = 1 << 17


def _address_part(value: Any) -> str:
    if type(value) is str:
        part = _PARTS.get(value)
        if part is None:
            part = f".{value}" if _SIMPLE.match(value) else f"[{json.dumps(value, ensure_ascii=False)}]"
            if len(_PARTS) < _MAX_PARTS:
                _PARTS[value] = part
        return part
    if isinstance(value, str) and _SIMPLE.match(value):
        return f".{value}"
    return f"[{json.dumps(value, ensure_ascii=False)}]"


# -- normalisers shared by kinds -----------------------------------------------------
def sorted_set(value: Any) -> Any:
    """Lists the API treats as sets: order and repeats do not matter."""
    if isinstance(value, (list, tuple)):
        return sorted(set(value), key=str)
    return value


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def number(value: Any) -> Any:
    """Money and counts: 50 and 50.0 are the same value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return int(value) if float(value).is_integer() else float(value)


# -- default behaviour -------------------------------------------------------------
def default_from_live(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> LiveItem | None:
    values = {k: f.norm(raw.get(k)) for k, f in kind.fields.items() if not f.write_only and k in raw}
    identity = tuple(values.get(k) for k in kind.identity)
    return LiveItem(identity, values, raw.get(kind.api.id_field), raw)


def default_create_calls(kind: KindSpec, values: Mapping[str, Any], identity: Identity,
                         ids: IdResolver) -> list[ApiCall]:
    assert kind.api.create is not None
    body = {k: v for k, v in values.items() if kind.fields[k].settable_on_create}
    calls = [ApiCall(kind.api.create.method, kind.api.create.url(), body, f"create {kind.title}")]
    later = {k: v for k, v in values.items() if not kind.fields[k].settable_on_create}
    if later and kind.api.update is not None:
        # The create call cannot set these; a follow-up update does (the id comes from
        # the create's response: `{id}` is filled in by the executor).
        calls.append(ApiCall(kind.api.update.method, kind.api.update.path, later, f"set {', '.join(sorted(later))}"))
    return calls


def default_update_calls(kind: KindSpec, desired: Mapping[str, Any], changed: Mapping[str, Any],
                         before: Mapping[str, Any], live_id: str | None, ids: IdResolver) -> list[ApiCall]:
    assert kind.api.update is not None
    if kind.singleton:
        # PUT replaces the whole config: send what is declared, merged over live by the planner.
        body = {k: v for k, v in desired.items() if k in kind.fields and not kind.fields[k].computed}
        return [ApiCall(kind.api.update.method, kind.api.update.url(), body, f"set {kind.title}")]
    return [ApiCall(kind.api.update.method, kind.api.update.url(live_id), dict(changed),
                    f"update {', '.join(sorted(changed))}")]
