"""Config files → one validated `DesiredState`, or one `ValidationError` with every problem.

The pipeline, per file: read YAML with positions (yaml_loader) → interpolate references
(interpolate) → validate against the schema derived from the registry (schema) → turn
each clean item into a `DesiredResource`. Then across files: merge, refusing a resource
declared twice or a singleton/top-level setting declared differently, naming both places;
then the reference checks that need several values at once. Problems never stop the run
early: they are gathered, sorted by file and line, and raised once.

Imports: errors, collector, kinds, resources and this package.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, cast
from urllib.parse import urlsplit

from ..errors import ConfigError, Reason, SourcePosition, ValidationError
from ..kinds import KINDS, KindSpec
from ..kinds.units import DURATION_PATTERN, parse_duration_hours
from ..collector import gc_paused
from ..resources import DesiredResource, DesiredState, ValueOrigin
from .interpolate import interpolate
from .schema_check import compile_schema
from .schema import (PATTERN_HINTS, SETTINGS_SECTIONS, build_schema, children, config_names, implied_fields,
                     prunable, scalar_field, top_level, type_text)
from .yaml_loader import Document, Limits, PathT, format_path, read_yaml_file

if TYPE_CHECKING:
    import jsonschema

YAML_SUFFIXES = (".yaml", ".yml")
# Top-level keys that hold one value for the whole config (besides singleton kinds).
_SETTINGS = ("version", "stack", "prune") + tuple(SETTINGS_SECTIONS)
# JSON numbers above this lose precision in most clients (and in the API's JSON).
MAX_JSON_INT = 2**53


# -- public API ---------------------------------------------------------------------------
def load_config(paths: Sequence[str | Path], *, env: Mapping[str, str] | None = None,
                variables: Mapping[str, Any] | None = None,
                var_files: Sequence[str | Path] = ()) -> DesiredState:
    """Read, merge and validate config files (or directories of them) into a DesiredState.

    Raises ValidationError (a ConfigError) listing every problem found, sorted by place.
    """
    state, reasons = _Loader(env, variables).run(paths, var_files)
    if reasons:
        raise ValidationError(reasons)
    return state


def validate_only(paths: Sequence[str | Path], *, env: Mapping[str, str] | None = None,
                  variables: Mapping[str, Any] | None = None,
                  var_files: Sequence[str | Path] = ()) -> list[Reason]:
    """Every problem of the config, sorted; an empty list when it is valid."""
    return _Loader(env, variables).run(paths, var_files)[1]


@dataclass(eq=False)  # compared by identity: nothing asks two for equality
class ConfigCheck:
    """What an offline check of the config found (`check_config`)."""

    # Values left as placeholders are missing from the resources: never plan from it.
    state: DesiredState
    reasons: list[Reason]
    # Each reference that had no value here ("${var:cap}"), where it was written.
    unresolved: list[tuple[str, SourcePosition]]


def check_config(paths: Sequence[str | Path], *, env: Mapping[str, str] | None = None,
                 variables: Mapping[str, Any] | None = None, var_files: Sequence[str | Path] = (),
                 placeholders: bool = True) -> ConfigCheck:
    """Check the config as `validate` does. With `placeholders` (the default), a
    `${env:NAME}` that is unset (without a default) or a `${var:NAME}` that is undefined is
    not an error: its value is taken as a placeholder of the right type (any schema error
    at or under it is left out, as are the value-dependent checks), and it is listed in
    `unresolved`. Malformed references, defaults and everything else are checked as usual.
    """
    loader = _Loader(env, variables, placeholders=placeholders)
    state, reasons = loader.run(paths, var_files)
    return ConfigCheck(state, reasons, loader.unresolved)


def config_files(paths: Sequence[str | Path]) -> tuple[list[str], list[Reason]]:
    """The files `paths` name: a directory stands for its `*.yaml`/`*.yml` files, sorted,
    not recursive (so a `vars/` folder beside them is not read as config). A file named
    twice is read once. Entries that are not regular files (a FIFO, a socket, a device)
    are kept, so that reading refuses them by name instead of skipping config silently."""
    files: list[str] = []
    reasons: list[Reason] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(c for c in path.iterdir() if c.suffix in YAML_SUFFIXES and c.exists() and not c.is_dir())
            if not found:
                reasons.append(Reason("the directory holds no *.yaml or *.yml file", SourcePosition(str(p))))
        elif path.exists():
            found = [path]
        else:
            reasons.append(Reason("no such file or directory", SourcePosition(str(p))))
            found = []
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(str(f))
    return files, reasons


@lru_cache(maxsize=1)
def _validator() -> "jsonschema.Draft202012Validator":
    # Imported only to explain a document the compiled check refused (~0.2 s to import).
    import jsonschema

    return jsonschema.Draft202012Validator(build_schema())


@lru_cache(maxsize=1)
def _compiled() -> tuple[Callable[[Any], bool], dict[str, Callable[[Any], bool]]]:
    """The whole schema as one check, and each top-level list's item schema as its own."""
    schema = build_schema()
    whole = compile_schema(schema)
    items = {key: compile_schema({**sub["items"], "$defs": schema["$defs"]})
             for key, sub in schema["properties"].items() if sub.get("type") == "array" and "$ref" in sub.get("items", {})}
    return whole, items


def schema_errors(value: Any) -> Iterable["jsonschema.ValidationError"]:
    """jsonschema's errors for one config document, asked only of the parts that the
    compiled check finds invalid (most documents: none at all)."""
    whole, items = _compiled()
    if whole(value):
        return
    validator = _validator()
    if not isinstance(value, dict):
        yield from validator.iter_errors(value)
        return
    lists = {k for k, v in value.items() if k in items and isinstance(v, list)}
    # The document without its resource lists, then each failing item against its kind.
    yield from validator.iter_errors({k: ([] if k in lists else v) for k, v in value.items()})
    for key in lists:
        item_schema = cast(Mapping[str, Any], validator.schema)["properties"][key]["items"]  # build_schema(): a mapping
        for i, item in enumerate(value[key]):
            if not items[key](item):
                for error in validator.descend(item, item_schema, path=i):
                    error.path.appendleft(key)
                    yield error


# -- where a path of the config lands in the registry ---------------------------------------
_TOP: dict[str, KindSpec] = {k.config_key: k for k in top_level(KINDS)}
# Per kind of the registry, computed once (schema.py derives them on every call).
_NAMES: dict[str, dict[str, str]] = {k.name: config_names(k) for k in KINDS}
_CHILDREN: dict[str, list[KindSpec]] = {k.name: children(k) for k in KINDS}
_IMPLIED: dict[str, tuple[str, ...]] = {k.name: implied_fields(k) for k in KINDS}
_SENSITIVE: dict[str, dict[str, str]] = {k.name: {s: n for s, n in _NAMES[k.name].items() if k.fields[n].sensitive}
                                         for k in KINDS}


def field_at(path: PathT) -> tuple[KindSpec, str, int] | None:
    """(kind, field name, length of the field's path) for a path at or below a field."""
    if not path or not isinstance(path[0], str) or path[0] not in _TOP:
        return None
    kind, depth = _TOP[path[0]], 1
    while True:
        if kind.singleton:
            scalar = scalar_field(kind)
            if scalar is not None:
                return kind, scalar, depth
            part = path[depth] if len(path) > depth else None
            if not isinstance(part, str):
                return None
            name = _NAMES[kind.name].get(part)
            return (kind, name, depth + 1) if name else None
        if len(path) < depth + 2 or not isinstance(path[depth], int):
            return None
        key = path[depth + 1]
        child = next((c for c in _CHILDREN[kind.name] if c.config_key == key), None)
        if child is not None:
            kind, depth = child, depth + 2
            continue
        name = _NAMES[kind.name].get(str(key))
        return (kind, name, depth + 2) if name else None


def _admits_text(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type", "string")
    return "string" in ([types] if isinstance(types, str) else types)


def _wants_text(path: PathT) -> bool:
    if path[:1] == ("policy",):
        from .policy_file import wants_text

        return wants_text(path[1:])
    found = field_at(path)
    if found is None or len(path) != found[2]:
        return True
    kind, name, _ = found
    return _admits_text(kind.fields[name].schema)


def _sensitive(path: PathT) -> bool:
    found = field_at(path)
    return found is not None and found[0].fields[found[1]].sensitive


# -- schema messages ----------------------------------------------------------------------
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "a mapping", "null": "null"}


def _type_of(value: Any) -> str:
    for t, name in ((bool, "true/false"), (int, "an integer"), (float, "a number"), (str, "a string"),
                    (list, "a list"), (dict, "a mapping")):
        if isinstance(value, t):
            return name
    return "null"


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"'{text}'"


def _name(path: PathT) -> str:
    """The value's own name for messages (the full path is in Reason.path): `secret`,
    `scopes[1]`."""
    for n in range(len(path) - 1, -1, -1):
        if isinstance(path[n], str):
            return format_path(path[n:])
    return "the config"


class _SchemaMessages:
    """Turns jsonschema errors into Reasons: located, worded for people, and never quoting
    a sensitive value (jsonschema's own messages echo the instance)."""

    def __init__(self, doc: Document, failed: set[PathT]):
        self.doc = doc
        self.reasons: list[Reason] = []
        self.bad: set[PathT] = set()
        # Values whose interpolation failed: already reported, still holding `${...}`.
        self.failed = failed

    def add(self, message: str, path: PathT, *, key: bool = False) -> None:
        self.bad.add(path)
        self.reasons.append(Reason(message, self.doc.position(path, key=key), format_path(path)))

    def error(self, e: "jsonschema.ValidationError") -> None:
        path: PathT = tuple(e.absolute_path)
        if any(path[:n] in self.failed for n in range(len(path) + 1)):
            return
        # types-jsonschema types these as unions (bool schemas, `Unset`); the config schema's
        # errors always carry a keyword, a mapping schema and the keyword's value.
        v: Any = e.validator
        inst: Any = e.instance
        sch: Any = e.schema
        rule: Any = e.validator_value
        secret = _sensitive(path)
        shown = "the value" if secret else _show(inst)
        name = _name(path)
        if "propertyNames" in e.schema_path:
            # The instance is a key of the mapping at `path`.
            self.add(f"key {_show(inst)} is too long (maximum {sch.get('maxLength')} characters)"
                     if v == "maxLength" else f"key {_show(inst)} is not allowed", path + (str(inst),), key=True)
        elif v == "additionalProperties" and rule is False:
            import difflib  # here: only a config with an unknown field needs it

            allowed = list(sch.get("properties", {}))
            for extra in inst:
                if extra in allowed:
                    continue
                close = difflib.get_close_matches(extra, allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.add(f"unknown field '{extra}'{hint} (allowed: {', '.join(allowed)})", path + (extra,), key=True)
        elif v == "required":
            for missing in rule:
                if missing not in inst:
                    self.add(f"missing required field '{missing}'", path)
        elif v == "type":
            wanted = [rule] if isinstance(rule, str) else rule
            got = _type_of(inst) + ("" if secret or inst is None or isinstance(inst, (dict, list)) else f" ({shown})")
            self.add(f"{name} must be {' or '.join(_TYPE_WORDS.get(t, t) for t in wanted)}, not {got}", path)
        elif v == "enum":
            choices = ", ".join(str(x) for x in rule)
            self.add(f"{shown} is not one of: {choices}", path)
        elif v == "const":
            self.add(f"{name} must be {json.dumps(rule)}" + ("" if secret else f", not {shown}"), path)
        elif v in ("minLength", "maxLength"):
            word = "short (minimum" if v == "minLength" else "long (maximum"
            self.add(f"{name} is too {word} {rule} characters)", path)
        elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                    "exclusiveMaximum": "less than"}[v]
            self.add(f"{name} must be {word} {rule}" + ("" if secret else f" (got {inst})"), path)
        elif v in ("minItems", "maxItems"):
            word = "at least" if v == "minItems" else "at most"
            self.add(f"{name} needs {word} {rule} item{'s' if rule != 1 else ''}", path)
        elif v == "maxProperties":
            self.add(f"{name} has more than {rule} entries", path)
        elif v == "uniqueItems":
            seen: list[Any] = []
            repeated = next((x for x in inst if x in seen or seen.append(x)), None)  # type: ignore[func-returns-value]
            what = "an item" if secret else _show(repeated)
            self.add(f"{name} lists {what} more than once", path)
        elif v == "pattern":
            pattern_hint = PATTERN_HINTS.get(rule)
            if secret:
                self.add(f"{name} does not have the expected form", path)
            elif pattern_hint:
                self.add(f"{shown} {pattern_hint}", path)
            else:
                self.add(f"{shown} is not valid: expected {sch.get('description') or rule}", path)
        elif v in ("anyOf", "oneOf"):
            branches = [c for c in (e.context or []) if self._type_fits(inst, rule[c.relative_schema_path[0]])]
            if branches:
                for c in branches:
                    self.error(c)
            else:
                self.add(f"{name} must be {type_text(sch)}", path)
        else:
            self.add(f"{name} is not valid" if secret else e.message, path)

    @staticmethod
    def _type_fits(instance: Any, branch: Mapping[str, Any]) -> bool:
        types = branch.get("type")
        if types is None:
            return True
        types = [types] if isinstance(types, str) else types
        checker = _validator().TYPE_CHECKER
        return any(checker.is_type(instance, t) for t in types)


# -- building resources -------------------------------------------------------------------
@dataclass(eq=False)  # compared by identity: nothing asks two for equality
class _Item:
    """One resource built from the config, with where it was written."""

    resource: DesiredResource
    doc: Document
    path: PathT
    raw: Mapping[str, Any]
    # False for an item with problems, kept only to detect duplicates.
    valid: bool = True


@dataclass(eq=False)  # compared by identity: nothing asks two for equality
class _Placed:
    """A top-level setting or singleton, remembered with where it was written."""

    value: Any
    source: SourcePosition | None


def _identity_key(value: Any) -> Any:
    """How identities compare for duplicates: URLs by scheme, host and port case-blind
    (`HTTPS://Hooks.example.com:443/x` is `https://hooks.example.com/x`)."""
    if isinstance(value, str) and "://" in value:
        try:
            u = urlsplit(value)
            host = (u.hostname or "").lower()
            port = u.port
        except ValueError:
            return value
        netloc = host if port in (None, 443 if u.scheme.lower() == "https" else 80) else f"{host}:{port}"
        return (u.scheme.lower(), netloc, u.path or "/", u.query)
    return value


@dataclass(eq=False)  # compared by identity: nothing asks two for equality
class _Loader:
    """One load of a config: the files, the variables, and every problem found in them."""

    env: Mapping[str, str] | None
    variables: Mapping[str, Any] | None
    reasons: list[Reason] = field(default_factory=list)
    items: dict[tuple[str, tuple[Any, ...]], _Item] = field(default_factory=dict)
    placed: dict[str, _Placed] = field(default_factory=dict)
    singletons: dict[str, _Item] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    placeholders: bool = False
    unresolved: list[tuple[str, SourcePosition]] = field(default_factory=list)
    # Where each variable got its value: the var file line, or None for `--var`.
    var_sources: dict[str, SourcePosition | None] = field(default_factory=dict)
    # The files of the first config path (the base); the others are overlays.
    base_files: frozenset[str] = frozenset()

    def reason(self, message: str, source: SourcePosition | None, path: PathT | str = ()) -> None:
        self.reasons.append(Reason(message, source, path if isinstance(path, str) else format_path(path)))

    def run(self, paths: Sequence[str | Path], var_files: Sequence[str | Path]) -> tuple[DesiredState, list[Reason]]:
        # The collector would only re-scan objects that all stay alive: ~55% of loading
        # 50,000 resources.
        with gc_paused():
            return self._run(paths, var_files)

    def _run(self, paths: Sequence[str | Path], var_files: Sequence[str | Path]) -> tuple[DesiredState, list[Reason]]:
        env = os.environ if self.env is None else self.env
        try:
            self.limits = Limits.from_env(env)
        except ValueError as exc:
            self.reason(str(exc), None)
        variables = self.read_var_files(var_files)
        variables.update(self.variables or {})
        self.var_sources.update({name: None for name in self.variables or {}})
        files, problems = config_files(paths)
        self.base_files = frozenset(config_files(paths[:1])[0]) if len(paths) > 1 else frozenset(files)
        self.reasons += problems
        empty: list[str] = []
        for file in files:
            doc = self.read(file)
            if doc is not None:
                if doc.value is None or doc.value == {}:
                    empty.append(file)
                self.read_doc(doc, env, variables)
        state = DesiredState(sources=tuple(files), empty_sources=tuple(empty))
        self.finish(state)
        self.check(state)
        order = {f: i for i, f in enumerate([str(v) for v in var_files] + files)}
        self.reasons.sort(key=lambda r: (order.get(r.source.file, len(order)) if r.source else -1,
                                         r.source.file if r.source else "",
                                         (r.source.line or 0) if r.source else 0,
                                         (r.source.column or 0) if r.source else 0, r.path, r.message))
        return state, self.reasons

    def read(self, file: str | Path) -> Document | None:
        try:
            return read_yaml_file(file, limits=self.limits)
        except ConfigError as exc:
            self.reasons.append(exc.reason)
            return None

    def read_var_files(self, var_files: Sequence[str | Path]) -> dict[str, Any]:
        variables: dict[str, Any] = {}
        for f in var_files:
            doc = self.read(f)
            if doc is None or doc.value is None:
                continue
            if not isinstance(doc.value, dict):
                self.reason(f"a var file must be a mapping of variable names to values, not {_type_of(doc.value)}",
                            doc.position(()))
                continue
            variables.update(doc.value)  # later files win
            self.var_sources.update({name: doc.position((name,), key=True) for name in doc.value})
        return variables

    def read_doc(self, doc: Document, env: Mapping[str, str], variables: Mapping[str, Any]) -> None:
        if doc.value is None:
            return  # an empty file is an empty config
        if not isinstance(doc.value, dict):
            self.reason("the top level must be a mapping of config keys (version, projects, webhooks, ...), "
                        f"not {_type_of(doc.value)}", doc.position(()))
            return
        result = interpolate(doc, env=env, variables=variables, wants_text=_wants_text, sensitive=_sensitive,
                             placeholders=self.placeholders)
        self.reasons += result.reasons
        self.unresolved += [(ref, doc.position(path)) for path, ref in result.unresolved.items()]
        value = result.value
        # No schema message under a failed reference (already reported) or a placeholder.
        messages = _SchemaMessages(doc, result.failed | result.unresolved.keys())
        for error in schema_errors(value):
            messages.error(error)
        self.reasons += messages.reasons
        if value.get("policy") is not None:
            self.check_policy(doc, value["policy"], result.failed | result.unresolved.keys())
        bad = messages.bad | result.failed
        builder = _Builder(doc, bad, result.env_refs, result.unresolved.keys())
        builder.cite(result.refs, self.var_sources, "base" if doc.file in self.base_files else "overlay")
        for key, raw in value.items():
            kind = _TOP.get(key)
            if kind is not None and not kind.singleton:
                if isinstance(raw, list):
                    for item in builder.items(kind, raw, (key,), ()):
                        self.add_item(item)
                continue
            if not builder.clean((key,)):
                continue
            if key in _SETTINGS:
                self.place(key, raw, doc.position((key,)))
            elif kind is not None:
                single = builder.singleton(kind, raw)
                if single is not None and self.place(key, raw, single.resource.source):
                    self.singletons[kind.name] = single
        self.reasons += builder.reasons

    def check_policy(self, doc: Document, policy: Any, skip: set[PathT]) -> None:
        """The `policy:` section as a policy file is checked (docs/policy.md), at its places."""
        from .policy_file import check_policy

        self.reasons += check_policy(
            policy, lambda p, key: doc.position(("policy", *p), key=key), ("policy",),
            lambda p: any(("policy", *p)[:n] in skip for n in range(len(p) + 2)))

    def place(self, key: str, value: Any, source: SourcePosition | None) -> bool:
        """Remember a one-per-config value; False when another file already set it differently."""
        first = self.placed.get(key)
        if first is None:
            self.placed[key] = _Placed(value, source)
            return True
        if first.value != value:
            self.reason(f"{key} is defined differently at {first.source} and at {source}; "
                        "keep one definition", source, key)
        return False

    def add_item(self, item: _Item) -> None:
        r = item.resource
        key = (r.kind, tuple([_identity_key(v) for v in r.identity]))
        first = self.items.get(key)
        if first is not None:
            self.reason(f"{r.spec.title} {r.address} is declared twice: at {first.resource.source} and at {r.source}",
                        r.source, item.path)
            return
        self.items[key] = item

    def finish(self, state: DesiredState) -> None:
        for item in self.valid_items():
            state.resources[item.resource.address] = item.resource
        if "stack" in self.placed:
            state.stack = self.placed["stack"].value
        prune = self.placed["prune"].value if "prune" in self.placed else False
        kinds = prunable()
        if prune is True:
            state.prune = {k.name for k in kinds.values()}
        elif isinstance(prune, list):
            state.prune = {kinds[key].name for key in prune if key in kinds}
        state.settings = {k: self.placed[k].value for k in SETTINGS_SECTIONS if k in self.placed}

    def valid_items(self) -> list[_Item]:
        return [i for i in list(self.singletons.values()) + list(self.items.values()) if i.valid]

    def check(self, state: DesiredState) -> None:
        items = self.valid_items()
        for check in CHECKS:
            for message, item, path in check(items):
                self.reason(message, item.doc.position(path), path)


class _Builder:
    """Builds the resources of one file, skipping any item under which a problem was found."""

    def __init__(self, doc: Document, bad: set[PathT], env_refs: Mapping[PathT, str],
                 placeholders: Iterable[PathT] = ()):
        self.doc = doc
        self.env_refs = env_refs
        self.reasons: list[Reason] = []
        # Every path at or above a placeholder (a reference without a value, offline).
        self.templated = {p[:n] for p in placeholders for n in range(len(p) + 1)}
        # Every prefix of a path with a problem → the next steps towards those problems
        # (None: a problem at the prefix itself), so that `clean` is one lookup, not a scan
        # of every problem for every item (quadratic in a file with many bad items).
        self.below: dict[PathT, set[str | int | None]] = {}
        for p in bad:
            for n in range(len(p) + 1):
                self.below.setdefault(p[:n], set()).add(p[n] if n < len(p) else None)
        self.layer = "base"
        # Every prefix of a path whose value came from a reference → the first such origin.
        self.origins: dict[PathT, ValueOrigin] = {}

    def cite(self, refs: Mapping[PathT, tuple[str, str]], var_sources: Mapping[str, SourcePosition | None],
             layer: str) -> None:
        """What the resources built will cite: their layer and where referenced values came from."""
        self.layer = layer
        for p, (scheme, name) in refs.items():
            if scheme == "env":
                origin = ValueOrigin("env", name)
            else:
                at = var_sources.get(name)
                origin = ValueOrigin("var" if at is None else "var_file", name, at)
            for n in range(1, len(p) + 1):
                self.origins.setdefault(p[:n], origin)

    def positions(self, kind: KindSpec, raw: Mapping[str, Any], path: PathT
                  ) -> tuple[dict[str, tuple[int, int]], dict[str, ValueOrigin]]:
        """Each written field's key position, and the origin of those from a reference."""
        names = _NAMES[kind.name]
        keys = self.doc.key_positions
        at: dict[str, tuple[int, int]] = {}
        origins: dict[str, ValueOrigin] = {}
        # A singleton written as a scalar (`tier: pro`) has its one value at its config key.
        scalar_at = None if path or scalar_field(kind) is None else (kind.config_key,)
        for spelling in raw:
            name = names.get(spelling) or (spelling if spelling in kind.meta else None)
            if name is None:
                continue
            where = path + (spelling,) if scalar_at is None else scalar_at
            pos = keys.get(where) or self.doc.positions.get(where)
            if pos is not None:
                at[name] = pos
            if self.origins:
                origin = self.origins.get(where)
                if origin is not None:
                    origins[name] = origin
        return at, origins

    def clean(self, path: PathT, nested: Iterable[str] = ()) -> bool:
        """No problem at or below `path`, except inside the nested lists named."""
        steps = self.below.get(path)
        return steps is None or (None not in steps and steps <= set(nested))

    def values(self, kind: KindSpec, raw: Mapping[str, Any], path: PathT) -> dict[str, Any] | None:
        """The fields written, under their field names, normalised; None after a problem."""
        names = _NAMES[kind.name]
        values: dict[str, Any] = {}
        ok = True
        for spelling, value in raw.items():
            name = names.get(spelling)
            if name is None:
                continue
            if self.templated and path + (spelling,) in self.templated:
                values[name] = value  # an identity written as a placeholder: compared as written
                continue
            try:
                values[name] = kind.fields[name].norm(value)
            except (ValueError, TypeError, OverflowError) as exc:
                where = path + (spelling,)
                self.reasons.append(Reason(str(exc) if not kind.fields[name].sensitive else f"{spelling} is not valid",
                                           self.doc.position(where), format_path(where)))
                ok = False
        return values if ok else None

    def untemplated(self, kind: KindSpec, raw: Mapping[str, Any], path: PathT) -> Mapping[str, Any]:
        """`raw` without the values written as placeholders, but for identity fields: their
        value is unknown, so neither normalised nor given to the reference checks."""
        if path not in self.templated:
            return raw
        names = _NAMES[kind.name]
        return {s: v for s, v in raw.items() if path + (s,) not in self.templated or names.get(s) in kind.identity}

    def secret_refs(self, kind: KindSpec, raw: Mapping[str, Any], path: PathT) -> dict[str, str]:
        if not self.env_refs:
            return {}
        sensitive = _SENSITIVE[kind.name]
        return {sensitive[s]: self.env_refs[path + (s,)] for s in raw if s in sensitive and path + (s,) in self.env_refs}

    def singleton(self, kind: KindSpec, raw: Any) -> _Item | None:
        path: PathT = (kind.config_key,)
        scalar = scalar_field(kind)
        # The scalar form's value sits at the key itself: `tier: pro` is tier's `tier` field.
        base = path if scalar is None else ()
        if scalar is not None:
            raw = {scalar: raw}
        raw = self.untemplated(kind, raw, base)
        values = self.values(kind, raw, base)
        if values is None:
            return None
        meta = {k: v for k, v in raw.items() if k in kind.meta}
        at, origins = self.positions(kind, raw, base)
        resource = DesiredResource(kind.name, (), values, meta, self.doc.span(path),
                                   self.secret_refs(kind, raw, base), self.layer, at, origins)
        return _Item(resource, self.doc, path, raw)

    def items(self, kind: KindSpec, raws: list[Any], path: PathT, parent: tuple[Any, ...]) -> list[_Item]:
        out: list[_Item] = []
        nested = _CHILDREN[kind.name]
        nested_keys = [c.config_key for c in nested]
        implied, ident = _IMPLIED[kind.name], kind.identity
        for i, raw in enumerate(raws):
            at = path + (i,)
            if not isinstance(raw, dict):
                continue
            if self.templated:
                raw = self.untemplated(kind, raw, at)
            valid = self.clean(at, nested_keys)
            if not valid:
                # Still take part in duplicate detection when the identity itself is sound,
                # so that one run reports both problems.
                raw = {s: v for s, v in raw.items() if _NAMES[kind.name].get(s) in kind.identity
                       and self.clean(at + (s,))}
            values = self.values(kind, raw, at)
            if values is None:
                continue
            if implied:
                values = {**dict(zip(implied, parent)), **values}
            if not valid and any(f not in values for f in ident):
                continue
            identity = tuple([values.get(f) for f in ident])
            meta = {k: v for k, v in raw.items() if k in kind.meta}
            positions, origins = self.positions(kind, raw, at)
            resource = DesiredResource(kind.name, identity, values, meta, self.doc.span(at),
                                       self.secret_refs(kind, raw, at), self.layer, positions, origins)
            out.append(_Item(resource, self.doc, at, raw, valid))
            for child in nested:
                if isinstance(raws[i].get(child.config_key), list):
                    out += self.items(child, raws[i][child.config_key], at + (child.config_key,), identity)
        return out


# -- reference checks ---------------------------------------------------------------------
# Each takes every built item and yields (message, item, path of the offending value).
Check = Callable[[list[_Item]], Iterable[tuple[str, _Item, PathT]]]


def check_within_parent(items: list[_Item]) -> Iterable[tuple[str, _Item, PathT]]:
    """A nested resource's list fields named by its kind's `within_parent` (a key's
    `scopes`) must lie within its parent's, when the parent lists some (an empty list means
    everything): the API refuses the key otherwise."""
    # The parent follows from the identity (as in the planner): a lookup, not a scan of
    # every item, which made 10,000 resources take ~50 s to load.
    by_identity = {(i.resource.kind, i.resource.identity): i for i in items}
    for item in items:
        spec = item.resource.spec
        if spec.parent is None:
            continue
        for name in spec.within_parent:
            if not isinstance(item.raw.get(name), list):
                continue
            found = by_identity.get((spec.parent, item.resource.identity[:-1]))
            if found is None:
                continue
            parent = found.resource
            allowed = parent.values.get(name) or []
            if not allowed:
                continue
            for n, entry in enumerate(item.raw[name]):
                if entry not in allowed:
                    yield (f"'{entry}' is not among the {name} of {parent.spec.title} '{parent.identity[-1]}' "
                           f"({', '.join(allowed)}); add it there or drop it here",
                           item, item.path + (name, n))


def check_kind_rules(items: list[_Item]) -> Iterable[tuple[str, _Item, PathT]]:
    """Each kind's own checks: of whole items (`KindSpec.checks`) and of single fields as
    written (`Field.validate`); their paths are relative to the item or the field."""
    validated = {k.name: [(s, k.fields[n].validate) for s, n in _NAMES[k.name].items()
                          if k.fields[n].validate is not None] for k in KINDS}
    for item in items:
        spec = item.resource.spec
        for check in spec.checks:
            for message, rel in check(item.raw, item.resource.values):
                yield message, item, item.path + rel
        for spelling, validate in validated[spec.name]:
            if spelling in item.raw:
                assert validate is not None
                for message, rel in validate(item.raw[spelling]):
                    yield message, item, item.path + (spelling,) + rel


def check_declared_count(items: list[_Item]) -> Iterable[tuple[str, _Item, PathT]]:
    """The API holds at most `KindSpec.max_declared` objects of some kinds per account."""
    by_kind: dict[str, list[_Item]] = {}
    for item in items:
        if item.resource.spec.max_declared is not None:
            by_kind.setdefault(item.resource.kind, []).append(item)
    for declared in by_kind.values():
        spec = declared[0].resource.spec
        limit = spec.max_declared
        assert limit is not None
        if len(declared) > limit:
            yield (f"{len(declared)} {spec.title}s are declared; the API allows at most {limit}",
                   declared[limit], declared[limit].path)


def check_normalised_numbers(items: list[_Item]) -> Iterable[tuple[str, _Item, PathT]]:
    """Values parsed from text (`10GiB`) are checked against the field's bounds only now,
    and must fit a JSON number exactly."""
    # Only a field that admits text and normalises it can turn text into a number.
    parsed = {k.name: [(s, n) for s, n in _NAMES[k.name].items()
                       if k.fields[n].normalize is not None and _admits_text(k.fields[n].schema)] for k in KINDS}
    for item in items:
        spec = item.resource.spec
        for spelling, name in parsed[spec.name]:
            value = item.resource.values.get(name)
            if isinstance(item.raw.get(spelling), str) and isinstance(value, int) and not isinstance(value, bool):
                low = spec.fields[name].schema.get("minimum")
                if low is not None and value < low:
                    yield f"{spelling} must be at least {low} (got {value})", item, item.path + (spelling,)
                elif value > MAX_JSON_INT:
                    yield f"{spelling} must be at most {MAX_JSON_INT} (2^53; got {value})", item, item.path + (spelling,)


def check_durations(items: list[_Item]) -> Iterable[tuple[str, _Item, PathT]]:
    """A duration setting of zero (`rotate_after: 0d`) would act on every run."""
    durations = {k.name: [n for n, m in k.meta.items() if m.schema.get("pattern") == DURATION_PATTERN] for k in KINDS}
    for item in items:
        for name in durations[item.resource.kind]:
            if name in item.raw:
                try:
                    hours = parse_duration_hours(item.raw[name])
                except ValueError:
                    continue  # the schema reported it
                if hours < 1:
                    yield f"{name} must be at least 1h (got {item.raw[name]!r})", item, item.path + (name,)


CHECKS: tuple[Check, ...] = (check_within_parent, check_kind_rules, check_normalised_numbers, check_durations,
                             check_declared_count)
