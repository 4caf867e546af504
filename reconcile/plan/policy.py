"""Policy gates: rules checked against the JSON plan document before anything is applied.

`check(policy, plan_doc)` is pure and works on the document `plan --format json` prints
(`reconcile.render.plan_document`), so a policy engine of the user's own can check the same
document instead; `enforce` raises `PolicyViolation` (exit code 3). Policies are read from
files and the config's `policy:` section by `reconcile.config.policy_file`.

Rules (all optional):
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
from ..kinds.units import parse_duration_hours

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
        after = c.get("after") or {}
        if action in policy.forbid.get(kind, ()):
            out.append(Violation("forbid", address, f"{action} of a {kind} is forbidden by the policy"))
        if action == "delete":
            continue
        if kind == "budget" and policy.max_budget_increase_percent is not None:
            out.extend(_budget_increase(policy.max_budget_increase_percent, address, c.get("before") or {}, after))
        if kind == "api_key" and policy.max_key_rotate_after_days is not None:
            out.extend(_rotate_after(policy.max_key_rotate_after_days, address, c.get("settings") or {}))
        if kind == "webhook" and policy.allowed_webhook_events is not None:
            extra = sorted(set(after.get("events") or []) - policy.allowed_webhook_events)
            if extra:
                out.append(Violation("allowed_webhook_events", address,
                                     f"subscribes to {', '.join(extra)}; allowed: "
                                     f"{', '.join(sorted(policy.allowed_webhook_events)) or 'none'}"))
    # Each violation cites the line its change is declared at.
    cited = {c.get("address"): _cited(c.get("source")) for c in changes}
    return [dataclasses.replace(v, source=cited[v.address]) if cited.get(v.address) else v for v in out]


def _cited(source: Any) -> str:
    if not isinstance(source, Mapping) or not source.get("file"):
        return ""
    return f"{source['file']}:{source['line']}" if source.get("line") else str(source["file"])


def _budget_increase(limit: float, address: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Violation]:
    old, new = before.get("hard_cap_usd"), after.get("hard_cap_usd")
    if old is None or old == new:
        return []  # no cap before: any cap is a decrease
    if new is None:
        return [Violation("max_budget_increase_percent", address,
                          f"removes the hard cap of ${old:,.2f} (an unbounded increase); the policy allows +{limit:g}%")]
    if old == 0:
        return [] if new == 0 else [Violation("max_budget_increase_percent", address,
                                              f"hard_cap_usd $0.00 → ${new:,.2f}; the policy allows +{limit:g}%")]
    percent = (new - old) / old * 100
    if percent <= limit:
        return []
    return [Violation("max_budget_increase_percent", address,
                      f"hard_cap_usd ${old:,.2f} → ${new:,.2f} is +{percent:.1f}%; the policy allows +{limit:g}%")]


def _rotate_after(limit_days: float, address: str, settings: Mapping[str, Any]) -> list[Violation]:
    value = settings.get("rotate_after")
    if value is None:
        return [Violation("max_key_rotate_after_days", address,
                          f"declares no rotate_after; the policy requires one of at most {limit_days:g} days")]
    try:
        days = parse_duration_hours(value) / 24
    except ValueError:
        return [Violation("max_key_rotate_after_days", address, f"rotate_after {value!r} is not a duration")]
    if days <= limit_days:
        return []
    return [Violation("max_key_rotate_after_days", address,
                      f"rotate_after {value} is {days:g} days; the policy allows at most {limit_days:g}")]


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
