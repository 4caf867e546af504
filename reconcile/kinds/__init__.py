"""The registry: every kind the reconciler manages, declared once as data.

Adding a kind means adding one module here and listing it in `KINDS`; the config schema,
planner, executor, renderers and export are generic over it, and the kind carries its own
rules (config checks, impact, policy, rotation; see `KindSpec`), so no module outside this
package names a kind (tests/kinds/test_kinds_own_their_rules.py).
Imports: errors, and the kind modules of this package.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Iterable

from ..errors import KindDefinitionError, ReconcileError
from .account import AUTORECHARGE, BUDGET, ROUTING, TIER
from .api_key import API_KEY
from .bandwidth_alert import BANDWIDTH_ALERT
from .base import ApiCall, Field, KindSpec, LiveContext, LiveItem, Meta, ReplaceStrategy
from .member import MEMBER
from .payment_method import PAYMENT_METHOD
from .project import PROJECT
from .webhook import WEBHOOK

# The base types are re-exported: code outside this package names them from here.
__all__ = [
    "ApiCall", "Field", "KindSpec", "LiveContext", "LiveItem", "Meta", "ReplaceStrategy",
    "KINDS", "REGISTRY", "BY_CONFIG_KEY", "LEVELS",
    "dependency_levels", "check_registry", "resolve_kind_names",
]

KINDS: tuple[KindSpec, ...] = (TIER, BUDGET, ROUTING, AUTORECHARGE, PAYMENT_METHOD, PROJECT, API_KEY, WEBHOOK, MEMBER, BANDWIDTH_ALERT)


def _build(kinds: tuple[KindSpec, ...]) -> dict[str, KindSpec]:
    registry: dict[str, KindSpec] = {}
    for kind in kinds:
        if kind.name in registry:
            raise KindDefinitionError(f"kind {kind.name!r} is registered twice")
        registry[kind.name] = kind
    for kind in kinds:
        for dep in kind.depends_on + ((kind.parent,) if kind.parent else ()):
            if dep not in registry:
                raise KindDefinitionError(f"kind {kind.name!r} depends on unknown kind {dep!r}")
    return registry


REGISTRY: dict[str, KindSpec] = _build(KINDS)
BY_CONFIG_KEY: dict[str, KindSpec] = {k.config_key: k for k in KINDS if k.parent is None}


def dependency_levels(kinds: tuple[KindSpec, ...] = KINDS) -> dict[str, int]:
    """Level of each kind: 0 depends on nothing; creates run by ascending level, deletes descending."""
    graph = {k.name: set(k.depends_on) | ({k.parent} if k.parent else set()) for k in kinds}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise KindDefinitionError(f"kinds depend on each other in a cycle: {exc.args[1]}") from exc
    levels: dict[str, int] = {}
    for name in order:
        levels[name] = max((levels[d] + 1 for d in graph[name]), default=0)
    return levels


LEVELS = dependency_levels()


def check_registry() -> None:
    for kind in KINDS:
        kind.check()


def resolve_kind_names(words: Iterable[str], *, option: str, singletons: bool) -> frozenset[str]:
    """`projects,keys` (config keys or kind names, comma-separated, repeatable) → kind names.

    `all` (also `*`, `true`) means every kind the option accepts. An unknown word is a
    ReconcileError naming the option and the accepted spellings.
    """
    accepted = [k for k in KINDS if singletons or not k.singleton]
    out: set[str] = set()
    for word in filter(None, (part.strip() for value in words for part in value.split(","))):
        if word in ("all", "*", "true"):
            out.update(k.name for k in accepted)
            continue
        match = [k.name for k in accepted if word in (k.name, k.config_key)]
        if not match:
            raise ReconcileError(f"{option} {word}: unknown kind; use some of: "
                                 + ", ".join(k.config_key for k in accepted))
        out.update(match)
    return frozenset(out)
