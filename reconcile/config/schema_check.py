"""A JSON Schema compiled once into plain Python checks: is this instance valid, yes or no.

jsonschema re-walks the schema for every value (its `descend` builds a validator per step):
two seconds for 10,000 resources. The loader asks this compiled check first and hands only
the parts it finds invalid to jsonschema, whose errors it turns into messages.

Contract: `compile_schema(schema)(instance)` is True only when jsonschema (draft 2020-12,
no format checker) finds the instance valid. Where an exact answer would take more than a
line (an `enum` of non-strings, `uniqueItems` over mixed values, a keyword not listed
below) the check says False, and jsonschema, which then runs, has the last word: a wrong
False costs time, never a message. tests/config/test_schema_check.py holds it to that.

Imports: nothing of this project.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

Check = Callable[[Any], bool]

# Keywords that never make an instance invalid (format: jsonschema asserts it only with a
# format checker, which the loader does not use).
_ANNOTATIONS = {"description", "title", "$schema", "$id", "$comment", "default", "examples", "format", "$defs",
                "deprecated", "readOnly", "writeOnly"}


def _never(value: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _all_of(checks: list[Check]) -> Check:
    """One check that passes when each of `checks` does. Spelled out for the usual one to
    three: a generator per value checked was ~40% of the check's time."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    if len(checks) == 3:
        a, b, c = checks
        return lambda v: a(v) and b(v) and c(v)

    def every(v: Any) -> bool:
        for check in checks:
            if not check(v):
                return False
        return True

    return every


class _Compiler:
    def __init__(self, root: Mapping[str, Any]):
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if pointer not in self.refs:
            if not pointer.startswith("#/$defs/") or pointer[8:] not in self.root.get("$defs", {}):
                return _never
            # Bound late, so that recursive definitions compile.
            self.refs[pointer] = _never
            compiled = self.compile(self.root["$defs"][pointer[8:]])
            self.refs[pointer] = compiled
        refs = self.refs
        return lambda v: refs[pointer](v)

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if not isinstance(schema, Mapping):
            return _never
        checks: list[Check] = []
        for keyword, arg in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("properties", "additionalProperties", "required"):
                continue
            checks.append(self.keyword(keyword, arg, schema))
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            checks.append(self.object(schema))
        return _all_of(checks)

    def keyword(self, keyword: str, arg: Any, schema: Mapping[str, Any]) -> Check:
        if keyword == "type":
            types = [arg] if isinstance(arg, str) else list(arg)
            if any(t not in _TYPES for t in types):
                return _never
            tests = [_TYPES[t] for t in types]
            return tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))
        if keyword == "enum" or keyword == "const":
            allowed = list(arg) if keyword == "enum" else [arg]
            if all(isinstance(a, str) for a in allowed):
                strings = frozenset(allowed)
                return lambda v: isinstance(v, str) and v in strings
            # Exact only for values of one plain type (jsonschema: 1 == 1.0, 1 != True).
            return lambda v: any(type(v) is type(a) and v == a for a in allowed if not isinstance(a, (list, dict)))
        if keyword == "pattern":
            search = re.compile(arg).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= arg
        if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            compare: Callable[[Any], bool] = {
                "minimum": lambda v: v >= arg, "maximum": lambda v: v <= arg,
                "exclusiveMinimum": lambda v: v > arg, "exclusiveMaximum": lambda v: v < arg}[keyword]
            return lambda v: not _is_number(v) or compare(v)
        if keyword == "items":
            item = self.compile(arg)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for x in v:
                        if not item(x):
                            return False
                return True

            return items
        if keyword == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        if keyword == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= arg
        if keyword == "uniqueItems":
            if not arg:
                return _always
            return lambda v: (not isinstance(v, list)
                              or (all(isinstance(x, str) for x in v) and len(set(v)) == len(v)))
        if keyword == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= arg
        if keyword == "maxProperties":
            return lambda v: not isinstance(v, dict) or len(v) <= arg
        if keyword == "propertyNames":
            name = self.compile(arg)
            return lambda v: not isinstance(v, dict) or all(name(k) for k in v)
        if keyword == "$ref":
            return self.ref(arg) if isinstance(arg, str) else _never
        if keyword in ("anyOf", "oneOf"):
            branches = [self.compile(b) for b in arg]
            if keyword == "anyOf":
                return lambda v: any(b(v) for b in branches)
            return lambda v: sum(1 for b in branches if b(v)) == 1
        return _never  # a keyword this compiler does not know: let jsonschema decide

    def object(self, schema: Mapping[str, Any]) -> Check:
        props = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        closed = extra is False
        other = None if closed or extra is True else self.compile(extra)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for r in required:
                if r not in v:
                    return False
            for k, x in v.items():
                c = props.get(k)
                if c is not None:
                    if not c(x):
                        return False
                elif closed or (other is not None and not other(x)):
                    return False
            return True

        return check


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """The schema as one function of an instance: True only if jsonschema finds it valid."""
    return _Compiler(schema).compile(schema)
