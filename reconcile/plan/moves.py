"""Renames: `renamed_from: OLD` on a resource (Terraform's `moved` block, on the resource).

The API renames projects and keys in place (`projects.update` and `keys.update` take
`name`), so a renamed object keeps its id, its keys and its secret. Before planning, the
live state is *relabelled*: the object found under the old name is filed under the new
address (with its children, for a project), its `name` value left as the API has it, so the
planner sees one object whose name differs and plans one UPDATE. Relabelling a state that
has no old names left (already renamed, or relabelled before) changes nothing.

Without the declaration, `rename_hints` notices a declared object that does not exist next
to an undeclared live one of the same kind, parent and fields, and says which declaration
to add; the planner then orders the old one's delete (under prune) after the new one's
create, so a key is never gone before its successor exists.

Pure.
Imports: kinds, resources.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping

from ..kinds import KINDS, REGISTRY, KindSpec
from ..resources import DesiredResource, DesiredState, LiveResource, LiveState

META = "renamed_from"


def renamable(kind: KindSpec) -> bool:
    """A kind whose objects can be renamed in place (the registry gives it `renamed_from`)."""
    return META in kind.meta and kind.api.update is not None


def find_moves(desired: DesiredState, live: LiveState) -> dict[str, tuple[Any, ...]]:
    """old address → new identity, for each declared `renamed_from` whose old object is
    live and whose new address is not (parents first: a key's old address may sit under
    its project's old name)."""
    moves: dict[str, tuple[Any, ...]] = {}
    old_of: dict[str, str] = {}  # new address → old address
    # One pass over the config (10,000 resources: no address is recomputed), usually empty.
    declared = [(address, r) for address, r in desired.resources.items()
                if r.meta and isinstance(r.meta.get(META), str) and address not in live.resources]
    for kind in KINDS:  # parents first
        if not declared or not renamable(kind):
            continue
        for address, r in declared:
            if r.kind != kind.name:
                continue
            old_name = r.meta[META]
            parent_identity = r.identity[:-1]
            if kind.parent is not None:
                old_parent = old_of.get(REGISTRY[kind.parent].address(parent_identity))
                if old_parent is not None:
                    # The parent is renamed too: the object is still filed under its old name.
                    parent_identity = live.resources[old_parent].item.identity
            old_address = kind.address(parent_identity + (old_name,))
            if old_address in live.resources and old_address not in moves:
                moves[old_address] = r.identity
                old_of[address] = old_address
    return moves


def relabel(live: LiveState, moves: Mapping[str, tuple[Any, ...]]) -> LiveState:
    """The live state with each moved object (old address → new identity), and the children
    of a moved parent, filed under the new address."""
    if not any(old in live.resources for old in moves):
        return live
    moved: dict[str, LiveResource] = {}
    new_identity_of: dict[str, tuple[Any, ...]] = {}  # live id of a moved parent → its new identity
    for kind in KINDS:
        for r in live.of_kind(kind.name):
            identity = moves.get(r.address)
            if identity is None and kind.parent is not None and r.item.parent_id in new_identity_of:
                identity = new_identity_of[r.item.parent_id] + r.item.identity[-1:]
            if identity is None:
                continue
            # The parent's part of the identity follows; the object's own name stays as the
            # API has it, so the planner's diff shows the rename.
            values = {**r.values, **dict(zip(kind.identity[:-1], identity[:-1]))}
            if r.id is not None:
                new_identity_of[r.id] = identity
            moved[r.address] = LiveResource(kind.name, kind.address(identity),
                                            replace(r.item, identity=identity, values=values,
                                                         moved_from=r.item.moved_from or r.address))
    resources = {}
    for address, r in live.resources.items():
        r = moved.get(address, r)
        resources[r.address] = r
    return replace(live, resources=resources, duplicates=list(live.duplicates))


def clashing_renames(desired: DesiredState, live: LiveState) -> list[str]:
    """Warnings for `renamed_from` whose old and new objects both exist live: nothing is
    renamed (the new one is matched), and the old one is an undeclared object."""
    out = []
    for address, r in desired.resources.items():
        old_name = r.meta.get(META) if r.meta else None
        if isinstance(old_name, str) and address in live.resources and renamable(r.spec):
            old_address = r.spec.address(r.identity[:-1] + (old_name,))
            if old_address in live.resources and old_address != address:
                out.append(f"{address}: renamed_from {old_name!r} does nothing: {address} exists already, and so "
                           f"does {old_address}, left undeclared (delete it, or drop renamed_from)")
    return out


def apply_moves(desired: DesiredState, live: LiveState) -> LiveState:
    return relabel(live, find_moves(desired, live))


def rename_hints(desired: DesiredState, live: LiveState, undeclared: Iterable[LiveResource],
                 diffable: Callable[[str], frozenset[str]]) -> dict[str, tuple[str, str]]:
    """old address → (new address, the hint), for the pairs that look like a rename: one
    undeclared live object and one declared object that is not live, of the same kind and
    parent, every field the new one declares equal to the old one's. A project also needs
    some evidence beyond that (a declared field, or the same key names), or any new project
    would look like a rename of any old one."""
    created: dict[tuple[str, tuple[Any, ...]], list[DesiredResource]] = {}
    kinds = {k.name for k in KINDS if renamable(k)}
    for address, r in desired.resources.items():
        if r.kind in kinds and address not in live.resources and not r.meta.get(META):
            created.setdefault((r.kind, r.identity[:-1]), []).append(r)
    if not created:
        return {}
    gone: dict[tuple[str, tuple[Any, ...]], list[LiveResource]] = {}
    for got in undeclared:
        if got.kind in kinds:
            gone.setdefault((got.kind, got.item.identity[:-1]), []).append(got)
    hints: dict[str, tuple[str, str]] = {}
    for group, olds in gone.items():
        news = created.get(group, [])
        matches = [(o, n) for o in olds for n in news if _looks_renamed(n, o, desired, live, diffable)]
        for old, new in matches:
            if sum(1 for o, _ in matches if o is old) != 1 or sum(1 for _, n in matches if n is new) != 1:
                continue  # ambiguous: any of several could be the one renamed
            kind = REGISTRY[old.kind]
            same = f"same {REGISTRY[kind.parent].title} and fields" if kind.parent else "same fields"
            keeps = "its id and secret" if kind.secret_outputs else "its id and everything under it"
            hints[old.address] = (new.address, (
                f"{new.address} looks like a rename of {old.address} ({same}): to rename it in place, "
                f"keeping {keeps}, add `renamed_from: {old.item.identity[-1]}` to {new.address} in the config"))
    return hints


def _looks_renamed(new: DesiredResource, old: LiveResource, desired: DesiredState, live: LiveState,
                   diffable: Callable[[str], frozenset[str]]) -> bool:
    declared = {k: v for k, v in new.values.items() if k in diffable(new.kind)}
    if any(old.values.get(k) != v for k, v in declared.items()):
        return False
    if new.spec.parent is not None or declared:
        return True
    new_children = {r.identity[-1] for r in desired.resources.values() if r.spec.parent == new.kind
                    and r.identity[:-1] == new.identity}
    old_children = {r.item.identity[-1] for r in live.resources.values() if REGISTRY[r.kind].parent == old.kind
                    and r.item.parent_id == old.id}
    return bool(new_children) and new_children == old_children
