"""The planner: (desired, live, options) → Plan. Pure: no I/O, no clock of its own.

Pipeline, per kind in registry order:
  match desired and live by address → compare declared fields (`==` first, DeepDiff only on
  the pairs that differ) → create / update / replace / rotate / delete or unmanaged →
  cascade deletes to children → dependencies between changes → order → targets.

Renames (`renamed_from`) are settled first, by refiling the live state (plan.moves).

Imports: errors, kinds, resources, plan.model, plan.moves.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Iterable

from ..errors import ConfigError
from ..kinds import KINDS, LEVELS, REGISTRY, KindSpec
from ..kinds.units import parse_duration_hours, rotation_start
from ..resources import DesiredResource, DesiredState, LiveResource, LiveState
from .model import Action, Change, FieldDiff, Plan, Unmanaged, source_of
from .moves import apply_moves, clashing_renames, rename_hints

KIND_ORDER = {k.name: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class PlanOptions:
    # Kinds pruned in addition to those the config prunes (`--prune` = all).
    prune: frozenset[str] = frozenset()
    targets: tuple[str, ...] = ()
    # Addresses to replace even though nothing differs (`--replace`).
    replace: tuple[str, ...] = ()
    # The API's notion of now, for rotation policies (the emulator's clock in tests).
    now: datetime | None = None
    # Ownership marker check: returns a reason when a live object may not be deleted.
    ownership: Callable[[KindSpec, LiveResource], str | None] | None = None
    extra_warnings: tuple[str, ...] = field(default_factory=tuple)


def build_plan(desired: DesiredState, live: LiveState, options: PlanOptions = PlanOptions()) -> Plan:
    prune = set(desired.prune) | set(options.prune)
    changes: list[Change] = []
    unmanaged: list[Unmanaged] = []
    warnings: list[str] = list(options.extra_warnings)
    now = options.now  # None: no clock, so no rotation is due (the workflow passes the API's now)
    live = _oldest_first(apply_moves(desired, live))  # the same state when nothing is renamed or duplicated
    ignored = _ignored_kinds(desired.settings.get("unmanaged"))

    # Both states bucketed by kind in one pass each, keyed by the addresses they are already
    # keyed by (recomputing `r.address` and rescanning per kind cost ~0.1 s at 10,000).
    wanted_by_kind = _by_kind(desired.resources)
    have_by_kind = _by_kind(live.resources)
    # Per kind, live objects the plan may never delete (the caller's own, the owner,
    # another stack's): the safety rules count against the rest.
    exempt: dict[str, int] = {}
    undeclared: list[LiveResource] = []  # candidates for "looks like a rename"
    for kind in KINDS:
        wanted = wanted_by_kind.get(kind.name, {})
        have = have_by_kind.get(kind.name, {})
        for address, want in wanted.items():
            if kind.singleton:
                got = have.get(address)
                if got is None:
                    warnings.append(f"{address}: the API did not return it; it was not read")
                    continue
                change = _compare(kind, want, got, address in options.replace, now)
            elif address in have:
                change = _compare(kind, want, have[address], address in options.replace, now)
            else:
                change = _create(kind, want)
            if change is not None and kind.unreachable is not None and address in have:
                why = kind.unreachable(want.values, have[address].item)
                if why:
                    warnings.append(f"{address}: {why}")
                    continue
            if change is not None:
                changes.append(change)
        if kind.singleton:
            continue
        for address, got in have.items():
            if address in wanted:
                continue
            reason = _keep_reason(kind, got, live, prune, options)
            if reason is None:
                changes.append(_delete(kind, got, "not declared and pruning is on"))
                undeclared.append(got)
            else:
                exempt_why = reason if kind.name in prune else _exempt_reason(kind, got, live, options)
                if exempt_why is not None:
                    exempt[kind.name] = exempt.get(kind.name, 0) + 1
                    # Never drift, and the listing says why: "not declared; the API key this tool…".
                    unmanaged.append(Unmanaged(address, kind.name, exempt_why if reason == exempt_why
                                               else f"{reason}; {exempt_why}"))
                    continue
                undeclared.append(got)
                inside = None if kind.name in ignored else _declared_container(kind, got, desired, wanted_by_kind)
                unmanaged.append(Unmanaged(address, kind.name, inside or reason, drift=inside is not None))
    for dup in live.duplicates:
        kind = REGISTRY[dup.kind]
        reason = _keep_reason(kind, dup, live, prune, options)
        if reason is None:
            changes.append(_delete(kind, dup, "a duplicate of a declared object (the oldest is kept)"
                                   if dup.address in desired.resources else "a duplicate (the oldest is kept)",
                                   f"{dup.address}#{dup.id}"))
            continue
        # A second object of a declared identity is drift whatever `unmanaged:` says: the
        # config declares one; other duplicates follow the rule for undeclared objects.
        exempt_why = reason if kind.name in prune else _exempt_reason(kind, dup, live, options)
        if exempt_why is not None:
            unmanaged.append(Unmanaged(f"{dup.address}#{dup.id}", dup.kind, "duplicate; " + reason))
            continue
        if dup.address in desired.resources:
            why = "a duplicate of a declared object"
        else:
            inside = None if kind.name in ignored else _declared_container(kind, dup, desired, wanted_by_kind)
            why = f"duplicate; {inside}" if inside else None
        unmanaged.append(Unmanaged(f"{dup.address}#{dup.id}", dup.kind, why or "duplicate; " + reason,
                                   drift=why is not None))

    hints = rename_hints(desired, live, undeclared, _diffable)
    warnings += [hint for _, hint in hints.values()] + clashing_renames(desired, live)
    changes = _cascade_deletes(changes, live)
    # A child deleted with its parent is not also "left alone" (its kind not being pruned).
    deleted = {c.address for c in changes if c.action is Action.DELETE}
    unmanaged = [u for u in unmanaged if u.address not in deleted]
    changes = _link(changes, live, {old: new for old, (new, _) in hints.items()})
    if options.targets:
        changes = _target(changes, options.targets)
        unmanaged = []
    changes.sort(key=_order_key)
    live_counts = _counts(live)
    return Plan(
        changes=tuple(changes),
        unmanaged=tuple(sorted(unmanaged, key=lambda u: (KIND_ORDER[u.kind], u.address))),
        warnings=tuple(warnings),
        targets=tuple(options.targets),
        config_digest=desired.config_digest,  # Deferred: computed when first read, never by a text plan
        live_fingerprint=live.fingerprint,  # Deferred: computed only if read
        live_counts=live_counts,
        managed_counts={k: n - exempt.get(k, 0) for k, n in live_counts.items()},
        kinds=tuple(sorted(live.kinds_read)),
    )


def _by_kind(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for address, r in resources.items():
        out.setdefault(r.kind, {})[address] = r
    return out


# -- comparing one resource -------------------------------------------------------------
def _compare(kind: KindSpec, want: DesiredResource, got: LiveResource, force_replace: bool,
             now: datetime | None) -> Change | None:
    diffs: list[FieldDiff] = []
    changed: dict[str, Any] = {}
    replace_reasons: list[str] = []
    diffable = _diffable(kind.name)
    live_values = got.values
    for name, value in want.values.items():
        if name not in diffable:
            continue
        current = live_values.get(name)
        if value == current:
            continue
        f = kind.fields[name]
        changed[name] = value
        diffs.extend(_field_diffs(name, current, value, f.sensitive))
        if not f.updatable:
            replace_reasons.append(f"{name} cannot be changed in place")
    moved_from = got.item.moved_from
    if moved_from is not None:
        name = kind.identity[-1]
        if live_values.get(name) != want.values.get(name):
            changed[name] = want.values.get(name)
            diffs.append(FieldDiff(name, live_values.get(name), want.values.get(name)))
    if force_replace:
        replace_reasons.append("replacement requested with --replace")

    rotate_reason = _rotation_due(kind, want, got, now)
    if not (replace_reasons or rotate_reason or changed):
        return None  # the common case: nothing to copy or fingerprint
    before = dict(got.values)
    after = {**before, **want.values}
    if replace_reasons:
        action = Action.REPLACE
        reasons = tuple(replace_reasons)
        only_requested = force_replace and len(replace_reasons) == 1
        if only_requested and kind.api.rotate is not None:
            # A kind that can rotate (a key) is rotated on request, not replaced: it keeps its
            # id, and the old secret stays valid for the grace period.
            action, reasons = Action.ROTATE, ("rotation requested with --replace",)
    elif rotate_reason:
        action, reasons = Action.ROTATE, (rotate_reason,)
    elif changed:
        action, reasons = Action.UPDATE, ()
    else:
        return None
    if moved_from is not None and kind.identity[-1] in changed:
        reasons = (f"renamed from {moved_from}",) + reasons
    return Change(
        address=want.address, kind=kind.name, identity=want.identity, action=action,
        before=before, after=after, diffs=tuple(diffs), reasons=reasons, live_id=got.id,
        level=LEVELS[kind.name], live_fingerprint=got.fingerprint(), meta=dict(want.meta),
        secret_refs=dict(want.secret_refs), moved_from=moved_from,
        source=source_of(want, tuple(changed) + (("rotate_after",) if rotate_reason else ())),
    )


@lru_cache(maxsize=None)
def _diffable(kind_name: str) -> frozenset[str]:
    """Fields compared with live: declared, read back, and not part of the identity."""
    kind = REGISTRY[kind_name]
    return frozenset(name for name, f in kind.fields.items()
                     if not (f.computed or f.write_only or name in kind.identity))


def _field_diffs(name: str, before: Any, after: Any, sensitive: bool) -> list[FieldDiff]:
    if sensitive or not (isinstance(before, dict) and isinstance(after, dict)):
        return [FieldDiff(name, before, after, sensitive)]
    # Only nested mappings get field-level paths; DeepDiff runs on this one pair alone,
    # imported only then (~60 ms that a no-op plan, validate or --help never pay).
    from deepdiff import DeepDiff

    diff = DeepDiff(before, after, verbose_level=2)
    out: list[FieldDiff] = []
    for bucket in ("dictionary_item_added", "dictionary_item_removed", "values_changed", "type_changes",
                   "iterable_item_added", "iterable_item_removed"):
        for path, entry in (diff.get(bucket) or {}).items():
            p = name + _deepdiff_path(path)
            if bucket == "dictionary_item_added" or bucket == "iterable_item_added":
                out.append(FieldDiff(p, None, entry))
            elif bucket in ("dictionary_item_removed", "iterable_item_removed"):
                out.append(FieldDiff(p, entry, None))
            else:
                out.append(FieldDiff(p, entry.get("old_value"), entry.get("new_value")))
    return sorted(out, key=lambda d: d.path) or [FieldDiff(name, before, after)]


_DD_PART = re.compile(r"\[('(?:[^'\\]|\\.)*'|\d+)\]")


def _deepdiff_path(path: str) -> str:
    parts = []
    for token in _DD_PART.findall(path):
        if token.startswith("'"):
            key = token[1:-1]
            parts.append(f".{key}" if re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", key) else f"[{token}]")
        else:
            parts.append(f"[{token}]")
    return "".join(parts)


def _rotation_due(kind: KindSpec, want: DesiredResource, got: LiveResource, now: datetime | None) -> str | None:
    policy = want.meta.get("rotate_after")
    if policy is None or now is None:
        return None
    try:
        hours = parse_duration_hours(policy)
    except ValueError as exc:
        raise ConfigError(f"{want.address}: rotate_after: {exc}", want.source) from exc
    start = rotation_start(got.values)
    if start is None:
        return None
    what, since = start
    age_hours = (now - since).total_seconds() / 3600
    if age_hours < hours:
        return None
    return f"{what} {_age(age_hours)} ago; policy rotate_after {policy}"


def _age(hours: float) -> str:
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"




def _create(kind: KindSpec, want: DesiredResource) -> Change:
    after = dict(want.values)
    diffs = tuple(FieldDiff(k, None, v, kind.fields[k].sensitive) for k, v in sorted(after.items())
                  if k in kind.fields and not kind.fields[k].computed)
    return Change(address=want.address, kind=kind.name, identity=want.identity, action=Action.CREATE,
                  before=None, after=after, diffs=diffs, level=LEVELS[kind.name], meta=dict(want.meta),
                  secret_refs=dict(want.secret_refs), source=source_of(want))


def _delete(kind: KindSpec, got: LiveResource, reason: str, address: str | None = None) -> Change:
    return Change(address=address or got.address, kind=kind.name,
                  identity=got.item.identity, action=Action.DELETE, before=dict(got.values), after=None,
                  reasons=(reason,), live_id=got.id, level=LEVELS[kind.name],
                  live_fingerprint=got.fingerprint())


def _ignored_kinds(setting: Any) -> frozenset[str]:
    """Kinds whose undeclared objects are not drift (`unmanaged: ignore`, or per kind)."""
    if setting == "ignore":
        return frozenset(k.name for k in KINDS)
    if isinstance(setting, dict):
        by_key = {k.config_key: k.name for k in KINDS}
        return frozenset(by_key[key] for key, mode in setting.items() if mode == "ignore" and key in by_key)
    return frozenset()


def _declared_container(kind: KindSpec, got: LiveResource, desired: DesiredState,
                        wanted_by_kind: dict[str, dict[str, Any]]) -> str | None:
    """Why an undeclared live object is drift: it sits in something the config declares, its
    parent (a key's project), or for a top-level kind the account, when the config declares
    objects of that kind. None: the config says nothing about where it is."""
    if kind.parent is not None:
        parent = REGISTRY[kind.parent].address(got.item.identity[:-1])
        return f"not declared in {parent}" if parent in desired.resources else None
    if wanted_by_kind.get(kind.name):
        return f"not declared among the config's {kind.config_key}"
    return None


def _oldest_first(live: LiveState) -> LiveState:
    """Of objects sharing an identity, the oldest is the one matched to config (and kept);
    the others are the duplicates."""
    if not live.duplicates:
        return live
    resources = dict(live.resources)
    duplicates = []
    for dup in live.duplicates:
        primary = resources.get(dup.address)
        if primary is not None and _created(dup) < _created(primary):
            resources[dup.address], dup = dup, primary
        duplicates.append(dup)
    return dataclasses.replace(live, resources=resources, duplicates=duplicates)


def _created(r: LiveResource) -> str:
    value = r.values.get("created_at")
    return value if isinstance(value, str) else "~"  # unknown: never older than a known time


def _keep_reason(kind: KindSpec, got: LiveResource, live: LiveState, prune: set[str],
                 options: PlanOptions) -> str | None:
    """Why a live object the config does not declare must be left alone (None: delete it)."""
    if kind.name not in prune:
        return "not declared"
    return _exempt_reason(kind, got, live, options)


def _exempt_reason(kind: KindSpec, got: LiveResource, live: LiveState, options: PlanOptions) -> str | None:
    """Why a live object may never be deleted, pruning or not (None: it may be)."""
    if got.id is not None and got.id == live.caller_key_id:
        return "the API key this tool is calling with"
    if got.id is not None and got.id == live.caller_project_id:
        return "the project of the API key this tool is calling with"
    if kind.never_prune is not None:
        why = kind.never_prune(got.item)
        if why:
            return why
    if options.ownership is not None:
        why = options.ownership(kind, got)
        if why:
            return why
    return None


def _cascade_deletes(changes: list[Change], live: LiveState) -> list[Change]:
    """Deleting a parent deletes its children in the API: show them, so counts and
    protections see them too."""
    deleted_parents = {c.live_id: c.address for c in changes if c.action is Action.DELETE and c.live_id}
    present = {c.address for c in changes}
    extra = []
    for kind in KINDS:
        if kind.parent is None:
            continue
        for r in live.of_kind(kind.name):
            parent_address = deleted_parents.get(r.item.parent_id or "")
            if parent_address and r.address not in present:
                extra.append(_delete(kind, r, f"its {REGISTRY[kind.parent].title} {parent_address} is deleted"))
    return changes + extra


def _link(changes: list[Change], live: LiveState, successors: dict[str, str] | None = None) -> list[Change]:
    """Fill in which changes each one waits for: a child's create waits for its parent's
    create; a parent's delete waits for its children's deletes; a kind waits for the
    singleton kinds it depends on (e.g. the tier, whose limits it may need); the delete of
    what looks renamed waits for its successor's create (`successors`: old → new address),
    so a key is never gone before the one replacing it exists."""
    by_address = {c.address: c for c in changes}
    by_kind: dict[str, list[Change]] = {}
    for c in changes:
        by_kind.setdefault(c.kind, []).append(c)
    linked = []
    for c in changes:
        spec = REGISTRY[c.kind]
        deps: list[str] = []
        if c.action is not Action.DELETE:
            if spec.parent is not None:
                parent_address = REGISTRY[spec.parent].address(c.identity[:-1])
                parent = by_address.get(parent_address)
                if parent is not None and parent.action is not Action.DELETE:
                    deps.append(parent_address)
            for dep_kind in spec.depends_on:
                if REGISTRY[dep_kind].singleton:
                    deps.extend(d.address for d in by_kind.get(dep_kind, []))
        else:
            for child_kind in KINDS:
                if child_kind.parent == c.kind:
                    deps.extend(d.address for d in by_kind.get(child_kind.name, [])
                                if d.action is Action.DELETE and d.identity[:-1] == c.identity)
            successor = by_address.get((successors or {}).get(c.address, ""))
            if successor is not None and successor.action is Action.CREATE:
                deps.append(successor.address)
        linked.append(_with(c, depends_on=tuple(sorted(set(deps)))))
    return linked


def _with(c: Change, **kw: Any) -> Change:
    from dataclasses import replace

    return replace(c, **kw)


def _target(changes: list[Change], targets: Iterable[str]) -> list[Change]:
    """Keep the targeted changes (an address or any address under it) and what they need."""
    by_address = {c.address: c for c in changes}
    keep: set[str] = set()
    todo = [c.address for c in changes if any(_matches(c.address, t) for t in targets)]
    while todo:
        a = todo.pop()
        if a in keep:
            continue
        keep.add(a)
        todo.extend(d for d in by_address[a].depends_on if d in by_address)
    return [c for c in changes if c.address in keep]


def _matches(address: str, target: str) -> bool:
    return address == target or address.startswith(target + ".") or address.startswith(target + "#")


def _order_key(c: Change) -> tuple[int, int, int, str]:
    if c.action is Action.DELETE:
        return (1, -c.level, KIND_ORDER[c.kind], c.address)
    return (0, c.level, KIND_ORDER[c.kind], c.address)


def _counts(live: LiveState) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in live.resources.values():
        counts[r.kind] = counts.get(r.kind, 0) + 1
    for r in live.duplicates:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return counts

