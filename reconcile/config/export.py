"""Export: live state → config YAML that a user could have written, generic over the registry.

`export_config` maps a `LiveState` onto the config's shape: top-level kinds under their
`config_key`, nested kinds under their parent (identity fields the parent implies left out),
singletons as mappings (or a scalar, `tier: pro`), identity first, then managed fields in
declaration order, values spelled back with `to_config` (`10GiB`) and `config_aliases`
reversed (`threshold`). Write-only fields (a webhook's signing secret) are never readable
and never diffed, so they are written commented out (`# secret: ${env:NAME}  # write-only: …`):
the export plans as it is, and uncommenting the line manages the value from that variable.
Config-only settings (`meta`: a key's `rotate_after` and `grace_hours`, `protect`) are never
sent to the API, so no live object holds them: given the config the account was applied
from (`settings`), export carries them over, with the `${env:NAME}` of a write-only value
and the config-wide `prune`, `secrets` and `policy`; without it, a key's rotation settings
are written commented out (the grace its last rotation used when the API shows one).
A live value the config schema cannot hold keeps its object out of the export (the account
owner's role), or, on a singleton, which always exists, just that field (a disabled
auto-recharge's `recharge_amount: 0`), commented out with the reason, so the export always
validates and plans with no changes: an undeclared field is left as it is.

`to_yaml` writes the result in the block style of the examples, with comments.
Pure: no I/O.
Imports: kinds, resources, config.schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import jsonschema
import yaml

from .schema import (
    SETTINGS_SECTIONS,
    children,
    config_names,
    implied_fields,
    prunable,
    scalar_field,
    top_level,
)
from ..kinds import KINDS, KindSpec, resolve_kind_names
from ..kinds.units import parse_api_time
from ..resources import DesiredResource, DesiredState, LiveResource, LiveState, secret_env_name

CONFIG_VERSION = 1
# The API's grace when a rotation names none (docs/emulator.md, API key).
API_DEFAULT_GRACE_HOURS = 24
# Config-wide settings export carries over from `settings`, in this order (`stack` is not:
# an export holds the whole account, a stack only its own objects).
CARRIED_SETTINGS = ("prune", *SETTINGS_SECTIONS)


@dataclass
class Exported:
    """One config document per top-level config key, plus the comments to write with it.

    `comments` maps a path inside the document (tuple of keys and list indexes) to a
    comment written at the end of that line; `notes` are comments written above it.
    """

    sections: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple[Any, ...], str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    # Environment variables the commented-out write-only lines name, with what each must hold.
    env: dict[str, str] = field(default_factory=dict)
    # Lines written commented out at the end of the mapping at a path: (key, value, why).
    commented: dict[tuple[Any, ...], list[tuple[str, Any, str]]] = field(default_factory=dict)
    # The config whose config-only settings are carried over (None: there is none).
    settings: DesiredState | None = None


def select_kinds(spec: Iterable[str] | None) -> set[str]:
    """`--kinds projects,keys` (config keys or kind names) → kind names; None → all kinds."""
    if spec is None:
        return {k.name for k in KINDS}
    return set(resolve_kind_names(spec, option="--kinds", singletons=True))


def env_name(address: str, field_name: str) -> str:
    """The variable a write-only value is read from: the name `--secrets-out x.env` uses."""
    return secret_env_name(address, field_name)


def export_config(live: LiveState, kinds: Iterable[str] | None = None,
                  settings: DesiredState | None = None) -> Exported:
    """Map live state onto config sections (see the module docstring).

    `settings`: the config the account is managed from; its config-only settings are kept
    for the live objects it declares (by address) and its config-wide settings carried over.
    """
    wanted = set(kinds) if kinds is not None else {k.name for k in KINDS}
    out = Exported(settings=settings)
    for spec in top_level(KINDS):
        if not (_subtree(spec) & wanted):
            continue
        if spec.singleton:
            if spec.name not in wanted:
                continue
            item = next(iter(live.of_kind(spec.name)), None)
            if item is None:
                continue
            scalar = scalar_field(spec)
            values = _fields(spec, item, live, out, (spec.config_key,))
            dropped = out.commented.get((spec.config_key,), [])
            if dropped and (not values or (scalar and scalar not in values)):
                # Nothing left the config can hold: leave the section out, the reasons as notes.
                del out.commented[(spec.config_key,)]
                out.notes.setdefault(spec.config_key, []).extend(
                    f"not exported: {spec.config_key}.{key}: {why}" for key, _, why in dropped)
                continue
            out.sections[spec.config_key] = values.get(scalar) if scalar else values
            continue
        entries = _items(spec, live.of_kind(spec.name), None, live, wanted, out, (spec.config_key,))
        if entries:
            out.sections[spec.config_key] = entries
    if settings is not None:
        out.sections.update(_carried_settings(settings, wanted))
    return out


def _carried_settings(settings: DesiredState, wanted: set[str]) -> dict[str, Any]:
    """`prune`, `secrets`, `policy` of the config, spelled as the config spells them.

    Pruning is kept only for the kinds exported: `--kinds keys` with a config pruning
    webhooks must not write an export that deletes every webhook."""
    carried: dict[str, Any] = {}
    kinds = prunable()
    keys = [key for key, spec in kinds.items() if spec.name in settings.prune and spec.name in wanted]
    if keys:
        carried["prune"] = True if len(keys) == len(kinds) else keys
    for name in SETTINGS_SECTIONS:
        if name in settings.settings:
            carried[name] = settings.settings[name]
    return carried


def _subtree(spec: KindSpec) -> set[str]:
    names = {spec.name}
    for child in children(spec):
        names |= _subtree(child)
    return names


def _items(spec: KindSpec, resources: list[LiveResource], parent_id: str | None, live: LiveState,
           wanted: set[str], out: Exported, path: tuple[Any, ...]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for r in sorted(resources, key=lambda r: r.address):
        if parent_id is not None and r.item.parent_id != parent_id:
            continue
        problem = _unrepresentable(spec, r)
        if problem:
            out.notes.setdefault(path[0], []).append(f"not exported: {r.address}: {problem}")
            continue
        here = path + (len(entries),)
        if spec.name in wanted:
            entry = _fields(spec, r, live, out, here)
        else:  # only its children were asked for: the identity places them
            entry = {k: v for k, v in _fields(spec, r, live, out, here).items()
                     if config_names(spec).get(k) in spec.identity}
        for child in children(spec):
            if not (_subtree(child) & wanted):
                continue
            nested = _items(child, live.of_kind(child.name), r.id, live, wanted, out, here + (child.config_key,))
            if nested:
                entry[child.config_key] = nested
        if r.id is not None and r.id in (live.caller_key_id, live.caller_project_id):
            what = "API key" if r.id == live.caller_key_id else "project of the API key"
            out.comments[here] = f"the {what} this tool is calling with (never pruned)"
        entries.append(entry)
    return entries


def _fields(spec: KindSpec, r: LiveResource, live: LiveState, out: Exported,
            path: tuple[Any, ...]) -> dict[str, Any]:
    """Identity first, then managed fields in declaration order, spelled as in config."""
    spelling = {name: alias for alias, name in config_names(spec).items()}
    implied = set(implied_fields(spec))
    order = [n for n in spec.identity if n not in implied]
    order += [n for n in spec.managed_fields if n not in order and n not in implied]
    values: dict[str, Any] = {}
    declared = out.settings.resources.get(r.address) if out.settings is not None else None
    for name in order:
        f = spec.fields[name]
        key = spelling.get(name, name)
        if f.write_only and declared is not None and name in declared.secret_refs:
            # The config named the variable it came from: keep managing it from there.
            values[key] = f"${{env:{declared.secret_refs[name]}}}"
            continue
        if f.write_only:
            # Never read back, never diffed: a live `${env:NAME}` would make the export
            # unusable until the variable is found, so the line is only a hint.
            var = env_name(r.address, name)
            out.env[var] = f"{spec.title} {r.address}: {name}"
            out.commented.setdefault(path, []).append(
                (key, f"${{env:{var}}}", "write-only, never read back: uncomment and set the variable to manage it"))
            continue
        if name not in r.values:
            continue
        value = r.values[name]
        if value is None and not _allows_null(f.schema):
            continue
        shown = spec.to_config(name, value) if spec.to_config else value
        problem = _field_problem(f.schema, value)
        if problem:
            # Only a singleton gets here (other objects are left out whole by `_unrepresentable`).
            out.commented.setdefault(path, []).append(
                (key, shown, f"the config cannot declare it ({problem}); undeclared, it is left as it is"))
            continue
        values[key] = shown
    values.update(_meta(spec, r, declared, out, path))
    return values


def _meta(spec: KindSpec, r: LiveResource, declared: DesiredResource | None, out: Exported,
          path: tuple[Any, ...]) -> dict[str, Any]:
    """Config-only settings: the config's own (`declared`), else hints written commented out.

    No API call returns them, so without the config only a key's rotation settings get a
    line, since leaving them out silently would drop the key's rotation policy.
    """
    if declared is not None:
        return {name: declared.meta[name] for name in spec.meta if name in declared.meta}
    if spec.api.rotate is None:
        return {}
    hints = out.commented.setdefault(path, [])
    if "rotate_after" in spec.meta:
        hints.append(("rotate_after", "90d", "config-only, the API keeps no rotation policy: "
                      "uncomment with your period (90d is an example)"))
    if "grace_hours" in spec.meta:
        used = _last_grace_hours(r.item.raw)
        why = ("config-only: the grace its last rotation used" if used is not None
               else "config-only: the API's default")
        hints.append(("grace_hours", used if used is not None else API_DEFAULT_GRACE_HOURS, why))
    return {}


def _last_grace_hours(raw: Mapping[str, Any]) -> int | None:
    """Hours between the key's last rotation and the end of its old secret's grace, when the
    API reports both and they make a whole number of hours within 0-168."""
    start, end = parse_api_time(raw.get("last_rotated_at")), parse_api_time(raw.get("grace_expires_at"))
    if start is None or end is None:
        return None
    hours = (end - start).total_seconds() / 3600
    return int(hours) if hours.is_integer() and 0 <= hours <= 168 else None


def _allows_null(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type")
    return types == "null" or (isinstance(types, list) and "null" in types)


def _field_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """Why the field's config schema rejects this live value (None: it accepts it)."""
    if value is None:
        return None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(dict(schema)).iter_errors(value))
    return error.message if error is not None else None


def _unrepresentable(spec: KindSpec, r: LiveResource) -> str | None:
    """Why the config cannot declare this live object as it is (None: it can)."""
    for name, f in spec.managed_fields.items():
        value = r.values.get(name)
        if value is None or f.write_only:
            continue
        if _field_problem(f.schema, value):
            return f"its {name} {json.dumps(value, default=str)} cannot be declared in config"
    return None


# -- YAML ------------------------------------------------------------------------------
def to_yaml(exported: Exported, keys: Iterable[str] | None = None, *, header: str = "") -> str:
    """The sections named by `keys` (all by default) as one YAML document, with comments."""
    lines: list[str] = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append(f"version: {CONFIG_VERSION}")
    for key in keys if keys is not None else list(exported.sections):
        lines.append("")
        lines += [f"# {note}" for note in exported.notes.get(key, [])]
        if key in exported.sections:
            _emit_key(key, exported.sections[key], (key,), 0, exported, lines)
    return "\n".join(lines) + "\n"


def section_keys(exported: Exported) -> list[str]:
    """Every key with content or notes, in registry order, then the carried settings."""
    order = [k.config_key for k in top_level(KINDS)] + list(CARRIED_SETTINGS)
    return [k for k in order if k in exported.sections or k in exported.notes]


def _emit_key(key: str, value: Any, path: tuple[Any, ...], indent: int,
              exported: Exported, lines: list[str]) -> None:
    comments = exported.comments
    pad = " " * indent
    comment = f"  # {comments[path]}" if path in comments else ""
    name = _scalar(key, flow=False)
    if isinstance(value, dict) and value:
        lines.append(f"{pad}{name}:{comment}")
        for k, v in value.items():
            _emit_key(str(k), v, path + (k,), indent + 2, exported, lines)
        _emit_commented(path, indent + 2, exported, lines)
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        lines.append(f"{pad}{name}:{comment}")
        for i, item in enumerate(value):
            _emit_item(item, path + (i,), indent + 2, exported, lines)
    else:
        text = _scalar(value, flow=False) if isinstance(value, str) else _flow(value)
        lines.append(f"{pad}{name}: {text}{comment}")


def _emit_item(item: Any, path: tuple[Any, ...], indent: int, exported: Exported, lines: list[str]) -> None:
    comments = exported.comments
    pad = " " * indent
    if not isinstance(item, dict) or not item:
        lines.append(f"{pad}- {_flow(item)}")
        _emit_commented(path, indent + 2, exported, lines)
        return
    start = len(lines)
    for k, v in item.items():
        _emit_key(str(k), v, path + (k,), indent + 2, exported, lines)
    # The first key goes on the dash line: `- name: web`.
    lines[start] = f"{pad}- {lines[start][indent + 2:]}"
    if path in comments:
        lines[start] += f"  # {comments[path]}" if "#" not in lines[start] else ""
    _emit_commented(path, indent + 2, exported, lines)


def _emit_commented(path: tuple[Any, ...], indent: int, exported: Exported, lines: list[str]) -> None:
    """The mapping's commented-out fields, after its keys: `# secret: ${env:X}  # why`."""
    for key, value, why in exported.commented.get(path, []):
        text = _scalar(value, flow=False) if isinstance(value, str) else _flow(value)
        lines.append(f"{' ' * indent}# {_scalar(key, flow=False)}: {text}  # {why}")


def _flow(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k), flow=True)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return _scalar(value, flow=True)
    return json.dumps(value)


def _scalar(text: str, *, flow: bool) -> str:
    """Plain when YAML reads it back as the same string (`account:read`, `${env:X}`),
    else double-quoted (JSON is valid YAML)."""
    simple = (text == text.strip() and text and "\n" not in text and " #" not in text and ": " not in text
              and not (flow and any(c in text for c in ",[]{}")))
    if simple:
        probe = f"[{text}]" if flow else f"k: {text}"
        try:
            back = yaml.safe_load(probe)
        except yaml.YAMLError:
            back = None
        if back == ([text] if flow else {"k": text}):
            return text
    return json.dumps(text, ensure_ascii=False)


__all__ = ["Exported", "export_config", "to_yaml", "section_keys", "select_kinds", "env_name"]
