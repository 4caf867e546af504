"""Policy gates: rules checked against the JSON plan document before anything is applied.

`load_policy(path)` reads a YAML policy file (docs/policy.md); every problem is a
`ConfigError` with file:line:column, like the config loader's. `policy_from_data` builds
one from a config file's `policy:` section. `check(policy, plan_doc)` is pure and works
on the document `plan --format json` prints (`reconcile.render.plan_document`), so a
policy engine of the user's own can check the same document instead.

Rules (all optional):
  forbid            {kind: [actions]}   e.g. {projects: [delete]}; kinds by config key or name
  max_budget_increase_percent  N        budget hard_cap_usd may rise by at most N % (and
                                        removing the cap is an unbounded increase)
  max_key_rotate_after_days    N        every key created or changed declares rotate_after ≤ N days
  allowed_webhook_events       [...]    webhooks created or changed subscribe only to these
  max_changes                  N        at most N changes in one apply

Imports: errors, kinds, config.yaml_loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .config.yaml_loader import Document, format_path, read_yaml_file
from .errors import ConfigError, PolicyViolation, SourcePosition
from .kinds import KINDS
from .kinds.units import parse_duration_hours
from .kinds.vocab import WEBHOOK_EVENTS

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

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address}: {self.message}"


# -- loading -------------------------------------------------------------------------------
def load_policy(path: str) -> Policy:
    """Read and check a policy file; a malformed one is a ConfigError at file:line:column."""
    doc = read_yaml_file(path)
    return _build(doc.value, lambda p: doc.position(p), path, _key_position(doc))


def policy_from_data(data: Any, where: str) -> Policy:
    """A policy from already-parsed data (a config file's `policy:` section)."""
    position = SourcePosition(where)
    return _build(data, lambda p: position, where, lambda p: position)


def _key_position(doc: Document) -> Any:
    return lambda p: doc.position(p, key=True)


def _build(data: Any, at: Any, source: str, key_at: Any) -> Policy:
    def fail(message: str, path: tuple[Any, ...] = (), key: bool = False) -> ConfigError:
        return ConfigError(message, (key_at if key else at)(path), format_path(path))

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail("a policy is a mapping of rules (see docs/policy.md)")
    data = dict(data)
    version = data.pop("version", 1)
    if version != 1:
        raise fail(f"version {version!r} is not supported; use version: 1", ("version",))
    rules = data.pop("rules", data)  # `rules:` is optional: rules may sit at the top level
    if rules is not data and data:
        raise fail(f"unknown key {next(iter(data))!r}; expected version and rules", (next(iter(data)),), key=True)
    prefix: tuple[Any, ...] = ("rules",) if rules is not data else ()
    if not isinstance(rules, dict):
        raise fail("rules is a mapping of rule names to settings", prefix)
    for name in rules:
        if name not in RULES:
            raise fail(f"unknown rule {name!r}; the rules are: {', '.join(RULES)}", (*prefix, name), key=True)

    def number(name: str, *, integer: bool = False) -> Any:
        value = rules.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                integer and not isinstance(value, int)):
            raise fail(f"expected a {'whole ' if integer else ''}number ≥ 0, got {value!r}", (*prefix, name))
        return value

    forbid: dict[str, frozenset[str]] = {}
    raw_forbid = rules.get("forbid") or {}
    if not isinstance(raw_forbid, dict):
        raise fail("forbid maps a kind to the actions it may not take, e.g. {projects: [delete]}", (*prefix, "forbid"))
    for kind_key, actions in raw_forbid.items():
        path = (*prefix, "forbid", kind_key)
        kind = next((k.name for k in KINDS if kind_key in (k.name, k.config_key)), None)
        if kind is None:
            raise fail(f"unknown kind {kind_key!r}; use one of: {', '.join(k.config_key for k in KINDS)}", path, key=True)
        actions = [actions] if isinstance(actions, str) else actions
        if not isinstance(actions, list) or not actions:
            raise fail(f"expected a list of actions ({', '.join(ACTIONS)})", path)
        for i, action in enumerate(actions):
            if action not in ACTIONS:
                raise fail(f"unknown action {action!r}; use one of: {', '.join(ACTIONS)}", (*path, i))
        forbid[kind] = frozenset(actions)

    events = rules.get("allowed_webhook_events")
    if events is not None:
        if not isinstance(events, list):
            raise fail("expected a list of webhook events", (*prefix, "allowed_webhook_events"))
        for i, event in enumerate(events):
            if event not in WEBHOOK_EVENTS:
                raise fail(f"unknown webhook event {event!r}", (*prefix, "allowed_webhook_events", i))
    days = rules.get("max_key_rotate_after_days")
    if isinstance(days, str):  # "90d" reads as well as 90
        try:
            days = parse_duration_hours(days) / 24
        except ValueError as exc:
            raise fail(str(exc), (*prefix, "max_key_rotate_after_days")) from None
        rules = {**rules, "max_key_rotate_after_days": days}
    return Policy(
        forbid=forbid,
        max_budget_increase_percent=number("max_budget_increase_percent"),
        max_key_rotate_after_days=number("max_key_rotate_after_days"),
        allowed_webhook_events=frozenset(events) if events is not None else None,
        max_changes=number("max_changes", integer=True),
        source=source,
    )


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
    return out


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


def policy_for(path: str | None, settings: Mapping[str, Any]) -> Policy | None:
    """The policy to enforce: `--policy FILE` and the config's `policy:` section, both
    (the stricter of each limit); None when there is neither."""
    policies = []
    if settings.get("policy") is not None:
        policies.append(policy_from_data(settings["policy"], "the configuration's policy: section"))
    if path:
        policies.append(load_policy(path))
    if not policies:
        return None
    merged = policies[0]
    for other in policies[1:]:
        merged = merged.merged(other)
    return merged
