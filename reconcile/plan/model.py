"""The plan as typed, frozen data: what will change, how, and in which order.

`Plan.to_data()` is the one plain form that feeds the JSON renderer, saved plans and the
fingerprint, with sensitive values masked. Where a change was declared (`Change.source`)
is in that form but not in the fingerprint: moving a resource down a file changes no step.
Imports: kinds, resources, redact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Generic, Mapping, TypeVar, cast

from ..kinds import REGISTRY
from ..redact import MASK as MASK, mask_values  # MASK: re-exported by reconcile.plan
from ..resources import DesiredResource, digest

PLAN_FORMAT_VERSION = 1


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ROTATE = "rotate"

    @property
    def destroys(self) -> bool:
        return self in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class FieldDiff:
    path: str
    before: Any
    after: Any
    sensitive: bool = False

    def to_data(self) -> dict[str, Any]:
        if self.sensitive:
            return {"path": self.path, "before": MASK if self.before is not None else None,
                    "after": MASK if self.after is not None else None, "sensitive": True}
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class FieldSource:
    """Where one field of a change was written, and where its value came from: `base` or
    `overlay` (written out in that config file), `var_file`, `var` (`--var`) or `env`."""

    line: int | None
    column: int | None
    origin: str
    variable: str | None = None
    # The var file line that set the variable (origin `var_file`).
    defined_file: str | None = None
    defined_line: int | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "column": self.column, "origin": self.origin}
        if self.variable is not None:
            data["variable"] = self.variable
        if self.defined_file is not None:
            data["defined_at"] = {"file": self.defined_file, "line": self.defined_line}
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "FieldSource":
        defined = data.get("defined_at") or {}
        return cls(data.get("line"), data.get("column"), str(data.get("origin") or "base"), data.get("variable"),
                   defined.get("file"), defined.get("line"))


@dataclass(frozen=True)
class Source:
    """Where a change was declared: the config file, the resource's first and last line,
    its layer (`base`, `overlay`) and, per field the change sets, a `FieldSource`."""

    file: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    layer: str = "base"
    fields: Mapping[str, FieldSource] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def to_data(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "end_line": self.end_line,
                "layer": self.layer, "fields": {k: v.to_data() for k, v in self.fields.items()}}

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> "Source | None":
        if not data or not data.get("file"):
            return None
        return cls(str(data["file"]), data.get("line"), data.get("column"), data.get("end_line"),
                   str(data.get("layer") or "base"),
                   {k: FieldSource.from_data(v) for k, v in (data.get("fields") or {}).items()})


def source_of(resource: DesiredResource, fields: tuple[str, ...] | None = None) -> Source | None:
    """The `Source` of a declared resource, citing `fields` (None: every field written)."""
    at = resource.source
    if at is None:
        return None
    cited: dict[str, FieldSource] = {}
    for name in resource.field_positions if fields is None else fields:
        pos = resource.field_positions.get(name)
        origin = resource.value_origins.get(name)
        line, column = pos if pos is not None else (None, None)
        if origin is None:
            if pos is not None:
                cited[name] = FieldSource(line, column, resource.layer)
            continue
        defined = origin.defined_at
        cited[name] = FieldSource(line, column, origin.origin, origin.variable,
                                  defined.file if defined else None, defined.line if defined else None)
    return Source(at.file, at.line, at.column, at.end_line, resource.layer, cited)


@dataclass(frozen=True)
class LastDeclared:
    """For a delete: the config file and the last commit that declared the resource, and
    the commit that removed it ("" while the removal is not committed). Found by a bounded
    `git log -S` lookup outside the planner (reconcile/workflow/git_history.py)."""

    file: str
    commit: str
    date: str = ""
    subject: str = ""
    removed_in: str = ""

    def to_data(self) -> dict[str, Any]:
        return {"file": self.file, "commit": self.commit, "date": self.date, "subject": self.subject,
                "removed_in": self.removed_in or None}

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> "LastDeclared | None":
        if not data or not data.get("file") or not data.get("commit"):
            return None
        return cls(str(data["file"]), str(data["commit"]), str(data.get("date") or ""), str(data.get("subject") or ""),
                   str(data.get("removed_in") or ""))


NOT_DECLARED = "not declared in any config file"


@dataclass(frozen=True)
class Change:
    address: str
    kind: str
    identity: tuple[Any, ...]
    action: Action
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    diffs: tuple[FieldDiff, ...] = ()
    reasons: tuple[str, ...] = ()
    live_id: str | None = None
    depends_on: tuple[str, ...] = ()
    level: int = 0
    live_fingerprint: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The env variable names sensitive `after` values came from (never the values).
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    # The live object's address before a rename (`renamed_from`, or its parent's): apply
    # finds it there (plan/moves.py).
    moved_from: str | None = None
    # Where the change was declared (None for a delete: nothing declares it).
    source: Source | None = None
    # A delete's former declaration, when git knows it (filled in outside the planner).
    last_declared: LastDeclared | None = None

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """The top-level fields this change sets: what the planner found different."""
        names = []
        for d in self.diffs:
            name = d.path.split(".", 1)[0].split("[", 1)[0]
            if name not in names:
                names.append(name)
        return tuple(names)

    @property
    def irreversible(self) -> bool:
        """True when undoing the step cannot restore what was there (ids, secrets lost)."""
        spec = REGISTRY[self.kind]
        if self.action in (Action.DELETE, Action.REPLACE):
            return spec.delete_is_irreversible or bool(spec.sensitive_fields & set((self.before or {}).keys()))
        if self.action is Action.UPDATE:
            return spec.updates_are_irreversible
        return self.action is Action.ROTATE

    @property
    def actions(self) -> list[str]:
        """Terraform-style action list: replace is delete+create in its execution order."""
        if self.action is Action.REPLACE:
            from ..kinds import ReplaceStrategy

            if REGISTRY[self.kind].replace_strategy is ReplaceStrategy.CREATE_BEFORE_DELETE:
                return ["create", "delete"]
            return ["delete", "create"]
        return [self.action.value]

    def to_data(self) -> dict[str, Any]:
        spec = REGISTRY[self.kind]
        return {
            "address": self.address,
            "kind": self.kind,
            "action": self.action.value,
            "actions": self.actions,
            "id": self.live_id,
            "before": _mask(self.before, spec.sensitive_fields),
            "after": _mask(self.after, spec.sensitive_fields, self.secret_refs),
            "diffs": [d.to_data() for d in self.diffs],
            "reasons": list(self.reasons),
            "depends_on": list(self.depends_on),
            "level": self.level,
            "irreversible": self.irreversible,
            "live_fingerprint": self.live_fingerprint,
            **({"moved_from": self.moved_from} if self.moved_from else {}),
            "source": self.source.to_data() if self.source is not None else None,
            **({"last_declared": self.last_declared.to_data()} if self.last_declared is not None else {}),
        }


@dataclass(frozen=True)
class Unmanaged:
    """A live object the config does not declare, left alone.

    `drift` when it sits inside what the config manages (a key in a declared project, an
    object of a top-level kind the config declares, a duplicate of a declared object) and
    the config does not say such objects are not its own (`unmanaged: ignore`)."""

    address: str
    kind: str
    reason: str = "not declared"
    drift: bool = False

    def to_data(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "reason": self.reason, "drift": self.drift}


class Severity(str, Enum):
    """How bad an impact is; ordered, so `--fail-on warning` also fails on danger."""

    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"

    @property
    def rank(self) -> int:
        return ("info", "warning", "danger").index(self.value)


@dataclass(frozen=True)
class Impact:
    """What a change will do to the account (money, throttling), with the figures."""

    severity: Severity
    address: str
    rule: str
    message: str

    def to_data(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "address": self.address, "rule": self.rule,
                "message": self.message}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Impact:
        """The inverse of `to_data`: an impact read back from a JSON plan."""
        return cls(Severity(data["severity"]), str(data["address"]), str(data["rule"]), str(data["message"]))


T = TypeVar("T")


class Deferred(Generic[T]):
    """A dataclass field that may be given as a zero-argument callable, called the first time
    the field is read (then kept). The live state's fingerprint serialises every object read
    (most of the planner's CPU; docs/benchmarks.md), the config's digest every declared
    value: only a saved plan, the JSON/markdown output, a drift report and an apply read
    them, so a plain `reconcile plan` never pays them."""

    def __init__(self, default: T) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_value"

    def __get__(self, obj: Any, objtype: type | None = None) -> T:
        if obj is None:
            return self.default  # what the dataclass takes as the field's default
        value = obj.__dict__[self.slot]
        if callable(value):
            value = obj.__dict__[self.slot] = value()
        return cast(T, value)

    def __set__(self, obj: Any, value: T | Callable[[], T]) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    # Each a str, or given as a callable computing it when first read (see Deferred).
    config_digest: Deferred[str] = Deferred("")
    live_fingerprint: Deferred[str] = Deferred("")
    live_counts: Mapping[str, int] = field(default_factory=dict)
    # Per kind, the live objects this plan could delete: all but the caller's own key and
    # project, the account owner and other stacks' objects (the safety rules' base).
    managed_counts: Mapping[str, int] = field(default_factory=dict)
    # Kinds whose state this plan covers (a targeted plan covers fewer).
    kinds: tuple[str, ...] = ()
    # What the changes will do to money and limits (reconcile.plan.impact), from usage read
    # at plan time. Not part of the fingerprint: usage moves every minute, and the
    # fingerprint must stay the same for the same steps (it seeds idempotency keys).
    impacts: tuple[Impact, ...] = ()
    # Declared behaviour tested through the API (reconcile.plan.checks.CheckResult; docs/checks.md).
    # Not part of the fingerprint either: a check reads behaviour, not the steps.
    checks: tuple[Any, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.targets)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def drift(self) -> tuple[Unmanaged, ...]:
        """Undeclared live objects that count as drift (see `Unmanaged`)."""
        return tuple(u for u in self.unmanaged if u.drift)

    @property
    def has_drift(self) -> bool:
        """Changes to make, or live objects the config should declare: `--detailed-exitcode` 2."""
        return self.has_changes or any(u.drift for u in self.unmanaged)

    def counts(self) -> dict[str, int]:
        result = {a.value: 0 for a in Action}
        for c in self.changes:
            result[c.action.value] += 1
        return result

    def summary(self) -> str:
        n = self.counts()
        text = (f"Plan: {n['create']} to create, {n['update']} to update, {n['replace']} to replace, "
                f"{n['delete']} to delete")
        if n["rotate"]:
            text += f", {n['rotate']} to rotate"
        drifted = len(self.drift)
        if drifted:
            text += f"; drift: {drifted} undeclared object{'s' if drifted != 1 else ''}"
        return text + "."

    def by_address(self) -> dict[str, Change]:
        return {c.address: c for c in self.changes}

    def to_data(self) -> dict[str, Any]:
        unmanaged_counts: dict[str, int] = {}
        for u in self.unmanaged:
            unmanaged_counts[u.kind] = unmanaged_counts.get(u.kind, 0) + 1
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "partial": self.partial,
            "targets": list(self.targets),
            "config_digest": self.config_digest,
            "live_fingerprint": self.live_fingerprint,
            "summary": self.counts(),
            "changes": [c.to_data() for c in self.changes],
            "unmanaged": [u.to_data() for u in self.unmanaged],
            "unmanaged_counts": unmanaged_counts,
            "warnings": list(self.warnings),
            "impacts": [i.to_data() for i in self.impacts],
            "checks": [c.to_data() for c in self.checks],
        }

    @property
    def fingerprint(self) -> str:
        """Same desired and live state → same fingerprint: the seed of idempotency keys."""
        data = self.to_data()
        # Where a change is declared is not part of it: a moved line plans the same steps.
        changes = [{k: v for k, v in c.items() if k not in _CITATIONS} for c in data["changes"]]
        return digest([changes, data["live_fingerprint"], data["config_digest"]])


_CITATIONS = ("source", "last_declared")


def _mask(values: Mapping[str, Any] | None, sensitive: frozenset[str],
          refs: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    return None if values is None else mask_values(values, sensitive, refs)
