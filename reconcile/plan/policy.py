"""Policy gates: rules checked against the JSON plan document before anything is applied.

`check(policy, plan_doc)` is pure and works on the document `plan --format json` prints
(`reconcile.render.plan_document`), so a policy engine of the user's own can check the same
document instead; `enforce` raises `PolicyViolation` (exit code 3). Policies are read from
files and the config's `policy:` section by `reconcile.config.policy_file`.

Rules (all optional; the kind-specific ones are the kinds' own, `KindSpec.policy`):
  forbid            {kind: [actions]}   e.g. {projects: [delete]}; kinds by config key or name
  max_budget_increase_percent  N        budget hard_cap_usd may rise by at most N % (and
                                        removing the cap is an unbounded increase)
  max_key_rotate_after_days    N        every key created or changed declares rotate_after ≤ N days
  allowed_webhook_events       [...]    webhooks created or changed subscribe only to these
  max_changes                  N        at most N changes in one apply

Imports: errors, kinds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import PolicyViolation
from ..kinds import REGISTRY

ACTIONS = ("create", "update", "replace", "delete", "rotate")
RULES = ("forbid", "max_budget_increase_percent", "max_key_rotate_after_days", "allowed_webhook_events",
         "max_changes")


@dataclass(frozen=True)
class Policy:
    forbid: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kind name → actions
    max_budget_increase_percent: float | None = None
    max_key_rotate_after_days: float | None = None
    allowed_webhook_events: frozenset[str] | None = None
    max_changes: int | None = None
    # Where it came from, for messages: a file, or "<config> policy:".
    source: str = ""

    def merged(self, other: "Policy") -> "Policy":
        """Both policies at once: the stricter of each limit, the union of forbidden actions."""
        forbid = {k: self.forbid.get(k, frozenset()) | other.forbid.get(k, frozenset())
                  for k in {*self.forbid, *other.forbid}}

        def low(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else min(a, b)

        events = (self.allowed_webhook_events if other.allowed_webhook_events is None
                  else other.allowed_webhook_events if self.allowed_webhook_events is None
                  else self.allowed_webhook_events & other.allowed_webhook_events)
        return Policy(forbid, low(self.max_budget_increase_percent, other.max_budget_increase_percent),
                      low(self.max_key_rotate_after_days, other.max_key_rotate_after_days), events,
                      low(self.max_changes, other.max_changes), " and ".join(filter(None, (self.source, other.source))))


@dataclass(frozen=True)
class Violation:
    rule: str
    address: str
    message: str
    # `file:line` of the change's declaration (the plan document's `source`), if any.
    source: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address}: {self.message}" + (f" ({self.source})" if self.source else "")


# -- checking ------------------------------------------------------------------------------
def check(policy: Policy, plan_doc: Mapping[str, Any]) -> list[Violation]:
    """Every violation of the plan document, in plan order (pure)."""
    out: list[Violation] = []
    changes = list(plan_doc.get("changes") or [])
    if policy.max_changes is not None and len(changes) > policy.max_changes:
        out.append(Violation("max_changes", "plan", f"{len(changes)} changes; the policy allows at most "
                                                     f"{policy.max_changes} in one apply"))
    for c in changes:
        address, kind, action = c.get("address", "?"), c.get("kind"), c.get("action")
        if action in policy.forbid.get(kind, ()):
            out.append(Violation("forbid", address, f"{action} of a {kind} is forbidden by the policy"))
        if action == "delete":
            continue
        spec = REGISTRY.get(kind) if isinstance(kind, str) else None
        for rule, hook in (spec.policy.items() if spec is not None else ()):
            limit = getattr(policy, rule)
            if limit is not None:
                out.extend(Violation(rule, address, message) for message in hook(limit, c))
    # Each violation cites the line its change is declared at.
    cited = {c.get("address"): _cited(c.get("source")) for c in changes}
    return [dataclasses.replace(v, source=cited[v.address]) if cited.get(v.address) else v for v in out]


def _cited(source: Any) -> str:
    if not isinstance(source, Mapping) or not source.get("file"):
        return ""
    return f"{source['file']}:{source['line']}" if source.get("line") else str(source["file"])


def enforce(policy: Policy | None, plan_doc: Mapping[str, Any]) -> None:
    """Raise PolicyViolation (exit code 3) listing every violation; nothing is applied."""
    if policy is None:
        return
    violations = check(policy, plan_doc)
    if violations:
        n = len(violations)
        raise PolicyViolation(
            f"the plan breaks {n} policy rule{'s' if n != 1 else ''} ({policy.source}); nothing was applied:\n"
            + "\n".join(f"  {v}" for v in violations), violations)
