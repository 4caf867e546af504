"""Policy files (docs/policy.md): `load_policy(path)` reads a YAML policy file, every problem
a `ConfigError` with file:line:column like the config loader's; `policy_from_data` builds one
from a config file's `policy:` section; `policy_for` merges the two. The rules themselves and
their checking live in `reconcile.plan.policy`.

Imports: errors, kinds, config.yaml_loader, plan.policy (the Policy type).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ConfigError, SourcePosition
from ..kinds import KINDS
from ..kinds.units import parse_duration_hours
from ..kinds.vocab import WEBHOOK_EVENTS
from ..plan.policy import ACTIONS, RULES, Policy
from .yaml_loader import Document, format_path, read_yaml_file


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
