"""`${env:NAME}`, `${env:NAME:-default}` and `${var:NAME}` in the string values of a config.

Rules (documented in docs/config-reference.md):
- Only string values are interpolated, never mapping keys, in one pass: a substituted
  value is not scanned again.
- `$${` is a literal `${`.
- A string that is exactly one reference takes the referenced value's type: a variable
  may be a number, a list or a mapping. Environment values are text; they are read with
  YAML's scalar rules (`600` → 600, `true` → True) only where the field's schema does not
  accept a string, so `rate_limit_rpm: ${env:RPM}` works and `name: ${env:N}` stays text.
- `${env:NAME:-default}` uses the default when NAME is unset or empty (as the shell does).
- A reference inside a longer string is substituted as text; a list or mapping cannot be.
- An unset variable, an undefined var or a malformed reference is an error at the value's
  position, naming the variable; the value of a sensitive field is never quoted.
- With `placeholders=True` (offline `validate`), an unset variable without a default or an
  undefined var is not an error: the value is kept as written and its path reported in
  `Interpolated.unresolved`, for the schema to take as "some value of the right type". A
  default (`${env:X:-5}`) is still used, and so checked; malformed references still fail.

Imports: errors and the YAML loader of this package.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import yaml
from yaml.nodes import ScalarNode

from ..errors import Reason
from .yaml_loader import Document, PathT, format_path

_TOKEN = re.compile(r"(\$\$\{)|\$\{([^}]*)\}|(\$\{)")
_WHOLE = re.compile(r"\$\{([^}]*)\}")
_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_VAR = re.compile(r"var:([A-Za-z_][A-Za-z0-9_.-]*)")
_USAGE = "use ${env:NAME}, ${env:NAME:-default} or ${var:NAME}, and $${ for a literal ${"


class _Missing(Exception):
    def __init__(self, message: str):
        self.message = message


class _Unresolved(_Missing):
    """A well-formed reference with no value here (unset variable, undefined var)."""

    def __init__(self, message: str, reference: str):
        super().__init__(message)
        self.reference = reference


@dataclass
class Interpolated:
    """The result of interpolating one document."""

    value: Any
    reasons: list[Reason] = field(default_factory=list)
    # path -> NAME, for values that were exactly one `${env:NAME}` (secret_refs).
    env_refs: dict[PathT, str] = field(default_factory=dict)
    # Paths whose value could not be interpolated (kept out of the state).
    failed: set[PathT] = field(default_factory=set)
    # With placeholders: path -> the first reference without a value, e.g. "${var:cap}".
    unresolved: dict[PathT, str] = field(default_factory=dict)
    # path -> ("var" or "env", NAME) of the first reference a value was substituted from:
    # where the value came from, for plans that cite it (docs/environments.md).
    refs: dict[PathT, tuple[str, str]] = field(default_factory=dict)


def _yaml_scalar(text: str) -> Any:
    """`text` read as a plain YAML scalar; text itself when that yields no JSON value."""
    loader = yaml.SafeLoader("")
    try:
        # types-PyYAML leaves Resolver.resolve unannotated.
        tag = loader.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if tag.rsplit(":", 1)[-1] not in ("null", "bool", "int", "float"):
            return text
        value = loader.construct_object(ScalarNode(tag, text))
    except (ValueError, TypeError, yaml.YAMLError):
        return text
    finally:
        loader.dispose()
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        raise _Missing("a list or mapping variable can only be used as the whole value, not inside text")
    return str(value)


class _Interpolator:
    def __init__(self, doc: Document, env: Mapping[str, str], variables: Mapping[str, Any],
                 wants_text: Callable[[PathT], bool], sensitive: Callable[[PathT], bool], placeholders: bool = False):
        self.doc = doc
        self.placeholders = placeholders
        self.env = env
        self.variables = variables
        self.wants_text = wants_text
        self.sensitive = sensitive
        self.result = Interpolated(None)

    def walk(self, value: Any, path: PathT) -> Any:
        if isinstance(value, dict):
            return {k: self.walk(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            try:
                return self.string(value, path)
            except _Missing as exc:
                if self.placeholders and isinstance(exc, _Unresolved):
                    self.result.unresolved[path] = exc.reference
                    return value
                self.result.failed.add(path)
                self.result.reasons.append(Reason(exc.message, self.doc.position(path), format_path(path)))
        return value

    def resolve(self, body: str, path: PathT, whole: bool) -> tuple[Any, str | None]:
        """The value of `${body}` and, for an env reference, the variable's name."""
        m = _ENV.fullmatch(body)
        if m:
            name, default = m.group(1), m.group(2)
            self.result.refs.setdefault(path, ("env", name))
            raw = self.env.get(name)
            if raw is None or (raw == "" and default is not None):
                if default is None:
                    raise _Unresolved(f"${{env:{name}}} is not set (environment variable {name})", f"${{env:{name}}}")
                raw = default
            if whole and not self.wants_text(path):
                return _yaml_scalar(raw), name
            return raw, name
        m = _VAR.fullmatch(body)
        if m:
            name = m.group(1)
            self.result.refs.setdefault(path, ("var", name))
            if name not in self.variables:
                raise _Unresolved(f"${{var:{name}}} is not defined (pass it as a variable or in a var file)",
                                  f"${{var:{name}}}")
            return self.variables[name], None
        shown = "this reference" if self.sensitive(path) else f"'${{{body}}}'"
        raise _Missing(f"{shown} is not a valid reference: {_USAGE}")

    def string(self, text: str, path: PathT) -> Any:
        whole = _WHOLE.fullmatch(text)
        if whole:
            value, env_name = self.resolve(whole.group(1), path, True)
            if env_name is not None:
                self.result.env_refs[path] = env_name
            return value
        parts: list[str] = []
        end = 0
        unresolved: _Unresolved | None = None
        for m in _TOKEN.finditer(text):
            parts.append(text[end:m.start()])
            end = m.end()
            if m.group(1):
                parts.append("${")
            elif m.group(3):
                raise _Missing(f"an unclosed '${{' in this value: {_USAGE}")
            else:
                try:
                    parts.append(_as_text(self.resolve(m.group(2), path, False)[0]))
                except _Unresolved as exc:
                    if not self.placeholders:
                        raise
                    # Go on: a malformed reference later in the text is still an error.
                    unresolved = unresolved or exc
        if unresolved is not None:
            raise unresolved
        parts.append(text[end:])
        return "".join(parts)


def interpolate(doc: Document, *, env: Mapping[str, str], variables: Mapping[str, Any],
                wants_text: Callable[[PathT], bool] = lambda path: True,
                sensitive: Callable[[PathT], bool] = lambda path: False, placeholders: bool = False) -> Interpolated:
    """Substitute every reference in `doc.value`; problems are returned, not raised.

    `wants_text(path)` says whether the value at `path` is text in the schema (then an
    environment value is kept as text); `sensitive(path)` whether it must not be quoted;
    `placeholders` keeps references without a value as written (see the module docstring).
    """
    it = _Interpolator(doc, env, variables, wants_text, sensitive, placeholders)
    it.result.value = it.walk(doc.value, ()) if doc.has_references else doc.value
    return it.result
