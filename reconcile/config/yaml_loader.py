"""Read one YAML file into plain Python values plus the source position of every value.

`yaml.safe_load` semantics (the same scalar resolution, anchors, aliases and `<<` merge
keys), but built by hand from PyYAML's node graph so that:

- every value, and every mapping key, has a `(line, column)` (1-based), looked up by its
  path (a tuple of mapping keys and list indexes);
- duplicate mapping keys are an error (PyYAML silently keeps the last one);
- hostile input is refused with a located error instead of exhausting memory or the
  stack: files over `MAX_FILE_BYTES`, nesting deeper than `MAX_DEPTH`, more than
  `MAX_NODES` values after alias expansion (the "billion laughs"), bytes that are not
  UTF-8, non-finite numbers, and tags other than YAML's core ones.

Every failure is a `ConfigError` with a `SourcePosition`; nothing else escapes.
Imports: errors only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError, SourcePosition

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000

PathT = tuple[str | int, ...]
Position = tuple[int, int]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("null", "bool", "int", "float", "str")}
_TIMESTAMP = _CORE + "timestamp"
_MERGE = _CORE + "merge"


@dataclass
class Document:
    """A parsed file: its value and where each part of it was written."""

    file: str
    value: Any
    # path -> position of the value node (a mapping's position is its first key's).
    positions: dict[PathT, Position] = field(default_factory=dict)
    # path -> position of the mapping key that introduced the value at that path.
    key_positions: dict[PathT, Position] = field(default_factory=dict)

    def position(self, path: PathT, *, key: bool = False) -> SourcePosition:
        """Where `path` was written; falls back to the nearest ancestor (values that came
        from a `${var:...}` have no node of their own)."""
        if key and path in self.key_positions:
            line, col = self.key_positions[path]
            return SourcePosition(self.file, line, col)
        p = tuple(path)
        while p not in self.positions and p:
            p = p[:-1]
        if p in self.positions:
            line, col = self.positions[p]
            return SourcePosition(self.file, line, col)
        return SourcePosition(self.file, 1, 1)


_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: PathT) -> str:
    """`("projects", 2, "keys", 0)` → `projects[2].keys[0]`; odd keys as `["a b"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += "[" + _quote(part) + "]"
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _DepthError(Exception):
    def __init__(self, mark: Any):
        self.mark = mark


class _Composer(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing: PyYAML's composer recurses
    once per level, so without this a few thousand `[` end in RecursionError."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _DepthError(self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _pos(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


def _where(file: str, mark: Any) -> SourcePosition:
    line, col = _pos(mark)
    return SourcePosition(file, line, col)


def _offset_position(text: str, offset: int) -> Position:
    before = text[:offset]
    line = before.count("\n") + 1
    return (line, offset - (before.rfind("\n") + 1) + 1)


def _decode(file: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        # The prefix of the line is valid UTF-8 (the error is the first bad byte).
        col = len(data[line_start:exc.start].decode("utf-8")) + 1
        raise ConfigError(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
                          SourcePosition(file, line, col)) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_yaml_text(file: str, text: str) -> Document:
    """Parse YAML `text` that came from `file` (used for messages only)."""
    loader: _Composer | None = None
    try:
        # The reader checks the characters already in the constructor.
        loader = _Composer(text)
        node = loader.get_single_node()
    except _DepthError as exc:
        raise ConfigError(f"nesting is deeper than {MAX_DEPTH} levels", _where(file, exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise ConfigError(f"YAML syntax error: {problem}", _where(file, mark) if mark else SourcePosition(file)) from None
    except yaml.reader.ReaderError as exc:
        line, col = _offset_position(text, exc.position)
        raise ConfigError(f"the file contains a character YAML does not allow (U+{exc.character:04X})"
                          if isinstance(exc.character, int) else "the file contains a character YAML does not allow",
                          SourcePosition(file, line, col)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", SourcePosition(file)) from None
    finally:
        if loader is not None:
            loader.dispose()
    doc = Document(file, None)
    if node is not None:
        doc.value = _Builder(doc, loader).build(node, (), 0)
    return doc


def read_yaml_file(path: str | Path) -> Document:
    """Read and parse one file; every failure is a located ConfigError."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", SourcePosition(file)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", SourcePosition(file))
    return read_yaml_text(file, _decode(file, data))


class _Builder:
    """Turns a composed node graph into values, recording positions; counts every node
    built so that aliases cannot multiply the work without bound."""

    def __init__(self, doc: Document, loader: yaml.SafeLoader):
        self.doc = doc
        self.constructor = loader
        self.count = 0

    def error(self, message: str, node: Node, path: PathT = ()) -> ConfigError:
        return ConfigError(message, _where(self.doc.file, node.start_mark), format_path(path))

    def build(self, node: Node, path: PathT, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(f"the document expands to more than {MAX_NODES:,} values "
                             "(aliases referring to aliases?)", node, path)
        if depth > MAX_DEPTH:
            raise self.error(f"nesting is deeper than {MAX_DEPTH} levels (a recursive alias?)", node, path)
        self.doc.positions.setdefault(path, _pos(node.start_mark))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _CORE + "seq":
                raise self.error(f"unsupported YAML tag {node.tag!r}", node)
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _CORE + "map":
                raise self.error(f"unsupported YAML tag {node.tag!r}", node)
            return self.mapping(node, path, depth)
        raise self.error("unsupported YAML node", node)  # pragma: no cover - PyYAML has no other kind

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            # Dates stay text: a config is JSON-shaped data and the API takes strings.
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self.error(f"unsupported YAML tag {node.tag!r}", node)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, TypeError, yaml.YAMLError):
            # PyYAML resolves e.g. `0x_` as an int and then fails to convert it.
            raise self.error(f"{node.value!r} cannot be read as a {node.tag.rsplit(':', 1)[-1]}", node) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"{node.value!r} is not a finite number", node)
        return value

    def mapping(self, node: MappingNode, path: PathT, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.error("a mapping key must be a plain value, not a list or mapping", key_node)
            # Keys are their source text: `on:` or `1:` stay the strings "on" and "1".
            key = str(key_node.value)
            if key in seen:
                line, col = _pos(seen[key].start_mark)
                raise self.error(f"duplicate key {key!r} (first defined at line {line}, column {col})", key_node,
                                 path + (key,))
            seen[key] = key_node
            self.doc.key_positions[path + (key,)] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, path + (key,), depth + 1)
        # Explicit keys win over merged ones, as in PyYAML; built after them so that the
        # positions recorded are the explicit ones.
        merged: dict[str, Any] = {}
        for value_node in merges:
            self.merge(value_node, path, depth, merged)
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def merge(self, value_node: Node, path: PathT, depth: int, merged: dict[str, Any]) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.error("a `<<` merge key needs a mapping or a list of mappings", source)
            value = self.build(source, path, depth + 1)
            for k, v in value.items():
                # The first mapping listed wins, as in PyYAML.
                merged.setdefault(k, v)
