"""The config file's JSON Schema (draft 2020-12) and its reference page, derived from the
kinds registry: adding a kind to `reconcile.kinds.KINDS` changes both with no edit here.

How a kind appears in the config:
- a singleton is a mapping of its fields under its `config_key`; a singleton whose only
  field is named like its key (`tier`) is written as that field's scalar value;
- any other kind is a list of mappings under its `config_key`, nested inside its parent's
  items when it has a `parent` (keys inside projects); the identity fields it inherits
  from the parent are implied by the nesting and not written;
- computed fields are absent; fields are spelled as their `config_aliases` say; `meta`
  settings sit next to the fields; identity and required fields are required.

Two variants: `build_schema()` is what the loader validates with (after interpolation, so
every value is final); `build_schema(editor=True)` is the published one, for editors that
see the file as written: wherever a value may be templated it also accepts a `${env:...}`
or `${var:...}` reference (`anyOf` the field's own schema and `$defs/reference`, or
`$defs/templated` for constrained text). schemas/config.schema.json and its copy shipped in
the package (reconcile/data/config.schema.json) are the editor variant.

`python -m tools.config_schema` (in the repository) rewrites both and docs/config-reference.md;
`python -m reconcile.config.schema --path` prints where the installed package keeps its copy
(for an editor's settings).
Imports: kinds only (and errors through them).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from ..kinds import KINDS, KindSpec
from ..kinds.units import DURATION_PATTERN, SIZE_PATTERN
from ..kinds.vocab import VENDORS

SCHEMA_ID = "https://infrai.dev/schemas/reconcile/config.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
STACK_PATTERN = "^[a-z0-9-]{1,40}$"
# Free-form sections for later features: stored raw in DesiredState.settings.
SETTINGS_SECTIONS = {
    "secrets": "Where secrets returned once by the API (key secrets, generated webhook signing secrets) go: `sinks`, each a `file` or an `exec` command (docs/secrets.md).",
    "policy": "Plan policy rules, as in a policy file (docs/policy.md; schemas/policy.schema.json): "
              "checked when the config is loaded and enforced on every plan and apply.",
    "unmanaged": "Live objects the config does not declare, inside what it manages (a key in a declared project; "
                 "an object of a top-level kind the config declares any of): `drift` (the default: the plan reports "
                 "them and --detailed-exitcode exits 2) or `ignore` (they are not yours: listed, not drift). "
                 "A mapping sets it per kind, e.g. `{keys: ignore}` (docs/gitops.md#drift).",
    "checks": "Declared behaviour, proven by the API's own test endpoints (docs/checks.md): `routing` expectations "
              "(previewed in plans, asserted after apply), the delivery health of `reachable: true` webhooks, and "
              "an opt-in auto-recharge `test_charge`. Each check is `warn` or `fail`; `--fail-on` gates on them.",
}
# Sections whose shape is fixed (the others are free-form).
SETTINGS_SCHEMAS: dict[str, dict[str, Any]] = {
    "secrets": {
        "additionalProperties": False,
        "properties": {
            "sinks": {
                "type": "array",
                "description": "Each secret goes to every sink, in order; a failing sink stops further secret-producing steps.",
                "items": {
                    "type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 2,
                    "description": "One sink: `file` or `exec` (with an optional `timeout`).",
                    "properties": {
                        "file": {"type": "string", "minLength": 1,
                                 "description": "A 0600 file: JSON, or dotenv when the name ends in .env."},
                        "exec": {"oneOf": [{"type": "string", "minLength": 1},
                                           {"type": "array", "minItems": 1, "items": {"type": "string"}}],
                                 "description": "A command given the secret on standard input (a string runs under /bin/sh -c); "
                                                "context in INFRAI_SECRET_* environment variables."},
                        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600,
                                    "description": "Seconds an exec sink may take (default 60)."},
                    },
                },
            },
        },
    },
}
_UNMANAGED_MODES = {"type": "string", "enum": ["drift", "ignore"]}
SETTINGS_SCHEMAS["unmanaged"] = {
    "type": ["string", "object"],
    "anyOf": [_UNMANAGED_MODES,
              {"type": "object", "additionalProperties": False, "minProperties": 1,
               "description": "Per kind (its config key): drift or ignore; kinds not listed are drift.",
               "properties": {k.config_key: _UNMANAGED_MODES for k in KINDS if not k.singleton}}],
}
_CHECK_SEVERITY = {"type": "string", "enum": ["warn", "fail"],
                   "description": "warn: `--fail-on warning` fails on it; fail: `--fail-on danger` does too."}
SETTINGS_SCHEMAS["checks"] = {
    "additionalProperties": False,
    "properties": {
        "routing": {
            "type": "array", "maxItems": 50,
            "description": "Capabilities whose routing is checked with routing.test; one without an expectation is only previewed.",
            "items": {
                "type": "object", "additionalProperties": False, "required": ["capability"],
                "description": "`capability`, and `expect_vendor` (the selected vendor) and/or `expect_chain` (the whole resolved chain).",
                "properties": {
                    "capability": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)+$",
                                   "description": "A capability id such as ai.chat."},
                    "expect_vendor": {"type": "string", "enum": list(VENDORS),
                                      "description": "The vendor routing.test must select."},
                    "expect_chain": {"type": "array", "minItems": 1, "uniqueItems": True,
                                     "items": {"type": "string", "enum": list(VENDORS)},
                                     "description": "The chain routing.test must resolve, in order."},
                    "severity": {**_CHECK_SEVERITY, "description": "warn (the default) or fail."},
                },
            },
        },
        "webhooks": {
            "type": "object", "additionalProperties": False,
            "description": "How `reachable: true` webhooks are checked.",
            "properties": {
                "severity": {**_CHECK_SEVERITY, "description": "warn (the default) or fail."},
                "window": {"type": "integer", "minimum": 1, "maximum": 1000,
                           "description": "Recent deliveries a plan looks at (default 20)."},
                "max_failure_rate": {"type": "number", "minimum": 0, "maximum": 1,
                                     "description": "Fail when more of them failed than this (default 0.5), "
                                                    "or when none of them succeeded."},
            },
        },
        "autorecharge": {
            "type": "object", "additionalProperties": False,
            "description": "The auto-recharge payment method check.",
            "properties": {
                "test_charge": {"type": "boolean",
                                "description": "true: when apply changes auto-recharge, make a real $1 test "
                                               "authorisation on its payment method (voided at once)."},
                "severity": {**_CHECK_SEVERITY, "description": "fail (the default) or warn."},
            },
        },
    },
}
# What a failed `pattern` means, in words (jsonschema would only quote the regex).
PATTERN_HINTS = {
    SIZE_PATTERN: "is not a size: use a number of bytes or e.g. 500MB, 10GiB",
    DURATION_PATTERN: "is not a duration: use e.g. 12h, 90d or 2w",
    STACK_PATTERN: "is not a stack name: use 1 to 40 characters among a-z, 0-9 and -",
}

# The copy shipped in the wheel (package data), for editors of installed users.
PACKAGED_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "config.schema.json"

# A whole value that is one reference, as the interpolation reads it (interpolate.py).
REFERENCE_PATTERN = r"^\$\{(env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?|var:[A-Za-z_][A-Za-z0-9_.-]*)\}$"
# Text holding at least one reference.
TEMPLATED_PATTERN = r"\$\{(env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?|var:[A-Za-z_][A-Za-z0-9_.-]*)\}"
PLACEHOLDER_DEFS = {
    "reference": {"type": "string", "pattern": REFERENCE_PATTERN,
                  "description": "A ${env:NAME}, ${env:NAME:-default} or ${var:NAME} reference, resolved when the "
                                 "config is loaded (checked then, against the field's own schema)."},
    "templated": {"type": "string", "pattern": TEMPLATED_PATTERN,
                  "description": "Text with ${env:...} or ${var:...} references, resolved when the config is loaded."},
}
# String constraints a reference would not meet as written.
_TEXT_CONSTRAINTS = ("pattern", "enum", "const", "minLength", "maxLength", "format")


# -- how kinds map onto the config (shared with the loader) ---------------------------
def scalar_field(kind: KindSpec) -> str | None:
    """The field a singleton is written as directly (`tier: pro`), if it is one of those."""
    managed = list(kind.managed_fields)
    if kind.singleton and managed == [kind.config_key] and not kind.meta:
        return kind.config_key
    return None


def implied_fields(kind: KindSpec, kinds: Sequence[KindSpec] = KINDS) -> tuple[str, ...]:
    """Identity fields a nested kind takes from its parent (a key's `project`)."""
    if kind.parent is None:
        return ()
    parent = next(k for k in kinds if k.name == kind.parent)
    inherited = len(parent.identity) + len(implied_fields(parent, kinds))
    return kind.identity[:inherited]


def config_names(kind: KindSpec) -> dict[str, str]:
    """Config spelling → field name, for the fields a user writes (aliases applied)."""
    spelled = {field: alias for alias, field in kind.config_aliases.items()}
    implied = set(implied_fields(kind))
    return {spelled.get(name, name): name for name in kind.managed_fields if name not in implied}


def children(kind: KindSpec, kinds: Sequence[KindSpec] = KINDS) -> list[KindSpec]:
    return [k for k in kinds if k.parent == kind.name]


def top_level(kinds: Sequence[KindSpec] = KINDS) -> list[KindSpec]:
    return [k for k in kinds if k.parent is None]


def prunable(kinds: Sequence[KindSpec] = KINDS) -> dict[str, KindSpec]:
    """Config keys `prune:` may list → kinds (every kind with many objects)."""
    return {k.config_key: k for k in kinds if not k.singleton}


# -- the schema -------------------------------------------------------------------------
def _described(schema: Any, description: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(schema))
    if description:
        out["description"] = description
    return out


def _templatable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, also accepting what a templated value looks like before it is resolved:
    for a value that is not text, a whole reference; for constrained text, any text with a
    reference (`https://${var:host}/x`). Plain text accepts references already."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    text = "string" in types or any(isinstance(b, dict) and b.get("type") == "string"
                                    for b in schema.get("anyOf", []) + schema.get("oneOf", []))
    if text and types == ["string"] and not any(k in schema for k in _TEXT_CONSTRAINTS):
        return schema
    own = {k: v for k, v in schema.items() if k != "description"}
    alternative = {"$ref": "#/$defs/templated" if text else "#/$defs/reference"}
    out: dict[str, Any] = {"description": schema["description"]} if "description" in schema else {}
    out["anyOf"] = [own, alternative]
    return out


def _fields_schema(kind: KindSpec, kinds: Sequence[KindSpec], editor: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    names = config_names(kind)
    wrap = _templatable if editor else (lambda schema: schema)
    for spelling, name in names.items():
        f = kind.fields[name]
        props[spelling] = wrap(_described(f.schema, f.description))
        if f.required or name in kind.identity:
            required.append(spelling)
    for name, meta in kind.meta.items():
        props[name] = wrap(_described(meta.schema, meta.description))
    for child in children(kind, kinds):
        props[child.config_key] = {"type": "array", "description": child.description,
                                   "items": {"$ref": f"#/$defs/{child.name}"}}
    out: dict[str, Any] = {"type": "object", "title": kind.title}
    if kind.description:
        out["description"] = kind.description
    out["additionalProperties"] = False
    out["properties"] = props
    if required:
        out["required"] = required
    return out


def build_schema(kinds: Sequence[KindSpec] = KINDS, *, editor: bool = False) -> dict[str, Any]:
    """The JSON Schema of one config file (every top-level key is optional); with `editor`,
    the published variant that also accepts unresolved references (module docstring)."""
    props: dict[str, Any] = {
        "version": {"const": 1, "description": "Config format version; only 1 exists."},
        "stack": {"type": "string", "pattern": STACK_PATTERN,
                  "description": "Name of the ownership stack this config manages (1-40 of a-z, 0-9, -)."},
        "prune": {
            "description": "Delete live objects the config does not declare: true for every kind "
                           "with many objects, or a list of their config keys.",
            "anyOf": [
                {"type": "boolean"},
                {"type": "array", "uniqueItems": True,
                 "items": {"type": "string", "enum": list(prunable(kinds))}},
            ],
        },
    }
    defs: dict[str, Any] = {}
    for kind in kinds:
        if not kind.singleton:
            defs[kind.name] = _fields_schema(kind, kinds, editor)
    for kind in top_level(kinds):
        scalar = scalar_field(kind)
        if scalar is not None:
            props[kind.config_key] = _described(kind.fields[scalar].schema,
                                                kind.description or kind.fields[scalar].description)
            if editor:
                props[kind.config_key] = _templatable(props[kind.config_key])
        elif kind.singleton:
            props[kind.config_key] = _fields_schema(kind, kinds, editor)
        else:
            props[kind.config_key] = {"type": "array", "description": kind.description,
                                      "items": {"$ref": f"#/$defs/{kind.name}"}}
    for name, description in SETTINGS_SECTIONS.items():
        props[name] = {"type": "object", "description": description, **SETTINGS_SCHEMAS.get(name, {})}
    if editor:
        props["stack"] = _templatable(props["stack"])
        defs.update(copy.deepcopy(PLACEHOLDER_DEFS))
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "infrai-reconcile configuration",
        "description": "One config file; several files merge (docs/config-reference.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "$defs": defs,
    }


def schema_text(schema: dict[str, Any] | None = None) -> str:
    """The published schema file (the editor variant unless `schema` is given)."""
    return json.dumps(schema or build_schema(editor=True), indent=2, ensure_ascii=False) + "\n"


# -- the reference page -----------------------------------------------------------------
def type_text(schema: Any) -> str:
    """A JSON Schema in a few words, for the reference tables."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name}-items)"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "anyOf" in schema:
        return " or ".join(type_text(s) for s in schema["anyOf"])
    types = schema.get("type", "any")
    types = [types] if isinstance(types, str) else list(types)
    words = []
    for t in types:
        if t == "array":
            words.append(f"list of {type_text(schema.get('items', {})) or 'values'}")
        elif t == "object":
            words.append("mapping")
        elif t == "string" and "enum" in schema:
            words.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
        else:
            words.append(t)
    text = " or ".join(words)
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "minLength", "maxLength",
                                             "minItems", "maxItems", "maxProperties") if k in schema]
    if schema.get("uniqueItems"):
        bounds.append("no repeats")
    if "pattern" in schema:
        hint = PATTERN_HINTS.get(schema["pattern"])
        bounds.append(f"pattern `{schema['pattern']}`" if hint is None else hint.replace("is not a", "a").split(":")[0])
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m reconcile.config.schema --path`: where the installed package keeps the
    schema, for an editor's settings. (The repository's generator is tools/config_schema.py.)"""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--path"]:
        print("usage: python -m reconcile.config.schema --path", file=sys.stderr)
        return 1
    print(PACKAGED_SCHEMA_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
