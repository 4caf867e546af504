"""Read one YAML file into plain Python values plus the source position of every value.

`yaml.safe_load` semantics (the same scalar resolution, anchors, aliases and `<<` merge
keys), but built by hand from PyYAML's node graph so that:

- every value, and every mapping key, has a `(line, column)` (1-based), looked up by its
  path (a tuple of mapping keys and list indexes);
- duplicate mapping keys are an error (PyYAML silently keeps the last one);
- hostile input is refused with a located error instead of exhausting memory or the
  stack: files over `Limits.max_file_bytes`, nesting deeper than `MAX_DEPTH`, more than
  `Limits.max_values` values in a file, more than `Limits.max_alias_values` values added
  by aliases (the "billion laughs"), bytes that are not UTF-8, non-finite numbers, and
  tags other than YAML's core ones; a path that is not a regular file (a FIFO would block
  `open()` forever).

Two composers give the same node graph (the same values, marks and tags): libyaml's
(`yaml.CSafeLoader`, ~3x faster) when PyYAML has it, else PyYAML's pure-Python one with a
depth guard. libyaml's own nesting limit (1,000 levels, an error, never a crash) keeps its
recursion bounded; the graph it gives is then checked against `MAX_DEPTH` exactly as the
pure-Python guard would count. Any input libyaml refuses, or that breaks a guard, is read
again by the pure-Python path, so every message and position is the pure-Python one.

Every failure is a `ConfigError` with a `SourcePosition`; nothing else escapes.
Imports: errors only.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError, SourcePosition

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
# Values a file may hold: ~7 a resource, so about 140,000 resources in one file.
MAX_VALUES = 1_000_000
# Values aliases may add beyond the nodes written (a real config uses a few anchors).
MAX_ALIAS_VALUES = 100_000
# Whether PyYAML was built with libyaml; tests switch it off to compare both paths.
LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))

PathT = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass(frozen=True)
class Limits:
    """The size limits of one config file; each can be raised by its environment variable
    (named in the message when it is hit)."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_values: int = MAX_VALUES
    max_alias_values: int = MAX_ALIAS_VALUES

    ENV = {"max_file_bytes": "INFRAI_CONFIG_MAX_BYTES", "max_values": "INFRAI_CONFIG_MAX_VALUES",
           "max_alias_values": "INFRAI_CONFIG_MAX_ALIAS_VALUES"}

    @classmethod
    def from_env(cls, env: Any) -> "Limits":
        """The limits, with any set in `env` (a mapping like os.environ); ValueError names a
        variable that is not a positive whole number."""
        found: dict[str, int] = {}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            try:
                found[name] = int(raw)
            except ValueError:
                found[name] = 0
            if found[name] < 1:
                raise ValueError(f"{var} must be a positive whole number, not {raw!r}")
        return cls(**found)

_CORE = "tag:yaml.org,2002:"
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
    # path -> last line of a mapping written in block style over several lines.
    end_lines: dict[PathT, int] = field(default_factory=dict)
    # False when no text value holds `${`: interpolation has nothing to do (the builder knows).
    has_references: bool = True

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

    def span(self, path: PathT) -> SourcePosition:
        """Where the value at `path` starts, with the last line it spans (a resource)."""
        p = tuple(path)
        at = self.positions.get(p)  # a resource's own node: the usual case, one lookup
        if at is None:
            start = self.position(p)
            line, col = start.line or 1, start.column or 1
        else:
            line, col = at
        end = self.end_lines.get(p)
        return SourcePosition(self.file, line, col, end if end is not None else line)


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

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                # types-PyYAML leaves Parser.peek_event unannotated.
                raise _DepthError(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _pos(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


def _last_line(node: Node) -> int:
    """The 1-based last line of a node's own text: a block collection's end mark is where the
    next token starts (lines later, past blank lines and comments), so descend to its last
    value, whose end is exact."""
    while isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    end = node.end_mark
    # A block scalar (`|`) ends at column 0 of the line after its text.
    return end.line if end.column == 0 and end.line > node.start_mark.line else end.line + 1


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


def read_yaml_text(file: str, text: str, *, limits: Limits | None = None, libyaml: bool | None = None) -> Document:
    """Parse YAML `text` that came from `file` (used for messages only).

    `libyaml` chooses the composer (default: libyaml when PyYAML has it); both give the same
    document, messages and positions.
    """
    limits = limits or Limits()
    if LIBYAML if libyaml is None else libyaml:
        doc = _read_with_libyaml(file, text, limits)
        if doc is not None:
            return doc
    return _read_pure(file, text, limits)


# Where libyaml and PyYAML read the same text differently (found by the differential fuzz
# of tests/config/test_yaml_paths.py), so these go to the pure-Python path: tabs (PyYAML
# refuses some libyaml accepts), tags (`!` alone is null for PyYAML, '' for libyaml),
# block scalar headers with a comment glued on (`|#`: PyYAML refuses it),
# explicit `?` keys, empty values in flow mappings or at the end of a text without a
# final newline (the null's position differs), a BOM after the start (columns differ).
# PyYAML's reader also refuses characters (NON_PRINTABLE) that libyaml accepts.
_TAG_OR_EXPLICIT_KEY = re.compile(r"(?<![^\s,\[\]{}])[!?]")
_EMPTY_IN_FLOW = re.compile(r":[ \r\n]*[,}\]]")
_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*#")


def _libyaml_differs(text: str) -> bool:
    """Whether `text` holds one of the constructs above. One search each, after a
    substring test where the construct needs a rare character: each regex then starts at a
    literal or a set the engine skips to (one alternation of all of them scanned every
    position: 0.1 instead of 0.8 ms over 1,000 resources)."""
    return ("\t" in text or "\ufeff" in text
            or (("!" in text or "?" in text) and _TAG_OR_EXPLICIT_KEY.search(text) is not None)
            or _EMPTY_IN_FLOW.search(text) is not None
            or ("#" in text and _HEADER_COMMENT.search(text) is not None))


_EMPTY_AT_END = re.compile(r"(?:[-:?.|>]|&\S*)\s*\Z")


def _read_with_libyaml(file: str, text: str, limits: Limits) -> Document | None:
    """The document composed by libyaml; None when the pure-Python path must say why not."""
    if _libyaml_differs(text) or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    if not text.endswith("\n") and _EMPTY_AT_END.search(text):
        return None
    try:
        loader = yaml.CSafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except Exception:  # noqa: BLE001 - libyaml's wording and marks differ: the pure path words every error
        return None
    doc = Document(file, None)
    if node is None:
        return doc
    builder = _Builder(doc, limits)
    try:
        doc.value = builder.build(node, (), 0)
    except ConfigError:
        # The pure path would have refused the nesting first, while composing.
        if _too_deep(node):
            return None
        raise
    # A node's nesting level as the composer counts it exceeds its build depth + 1 only by
    # the `<<: [...]` lists above it (built through, not as values); when even that sum is
    # within the limit, no walk is needed.
    if builder.deepest + 1 + builder.merge_lists > MAX_DEPTH and _too_deep(node):
        return None
    return doc


def _too_deep(root: Node) -> bool:
    """Whether `_Composer` would refuse this graph: a node (or an alias) at a nesting level
    above MAX_DEPTH, counted as it counts, in document order, aliases not descended."""
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            return True
        if id(node) in seen:
            continue  # an alias (or the anchor it is inside): the composer does not descend
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((child, level + 1) for child in reversed(node.value))
        elif isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.append((value, level + 1))
                stack.append((key, level + 1))
    return False


def _read_pure(file: str, text: str, limits: Limits) -> Document:
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
        doc.value = _Builder(doc, limits).build(node, (), 0)
    return doc


def _kind_of_file(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def not_regular_file(path: str | Path) -> str | None:
    """Why `path` cannot be read as a config file without blocking (a FIFO, a device), or
    None for a regular file or a path that does not exist (the open then says so)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return f"{_kind_of_file(mode)}, not a regular file; give a YAML file or a directory of them"


def read_yaml_file(path: str | Path, *, limits: Limits | None = None, libyaml: bool | None = None) -> Document:
    """Read and parse one file; every failure is a located ConfigError."""
    limits = limits or Limits()
    file = str(path)
    # Checked before opening: open() of a FIFO blocks until a writer comes, forever.
    refused = not_regular_file(path)
    if refused:
        raise ConfigError(f"cannot read the file: it is {refused}", SourcePosition(file))
    try:
        # O_NONBLOCK: should the path become a FIFO after the check, open() still returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError(f"cannot read the file: it is {_kind_of_file(mode)}, not a regular file; "
                                  "give a YAML file or a directory of them", SourcePosition(file))
            data = fh.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", SourcePosition(file)) from None
    if len(data) > limits.max_file_bytes:
        size = (f"{limits.max_file_bytes // (1024 * 1024)} MiB" if limits.max_file_bytes % (1024 * 1024) == 0
                else f"{limits.max_file_bytes:,} bytes")
        raise ConfigError(f"the file is larger than {size}; split the config into several files, or raise the "
                          f"limit with {Limits.ENV['max_file_bytes']}=<bytes>", SourcePosition(file))
    return read_yaml_text(file, _decode(file, data), limits=limits, libyaml=libyaml)


_CONSTRUCTOR = SafeConstructor()
# Scalar tag → PyYAML's own constructor of it (what construct_object would call).
_CONSTRUCT = {_CORE + "null": _CONSTRUCTOR.construct_yaml_null, _CORE + "bool": _CONSTRUCTOR.construct_yaml_bool,
              _CORE + "int": _CONSTRUCTOR.construct_yaml_int, _CORE + "float": _CONSTRUCTOR.construct_yaml_float}
_STR, _SEQ, _MAP = _CORE + "str", _CORE + "seq", _CORE + "map"


class _Builder:
    """Turns a composed node graph into values, recording positions; counts every value
    built, and those that aliases add, so that neither can grow without bound."""

    def __init__(self, doc: Document, limits: Limits):
        self.doc = doc
        self.limits = limits
        self.max_values, self.max_alias_values = limits.max_values, limits.max_alias_values
        self.count = 0
        self.distinct: set[int] = set()
        self.deepest = 0
        self.merge_lists = 0
        doc.has_references = False

    def error(self, message: str, node: Node, path: PathT = ()) -> ConfigError:
        return ConfigError(message, _where(self.doc.file, node.start_mark), format_path(path))

    def build(self, node: Node, path: PathT, depth: int) -> Any:
        self.count += 1
        self.distinct.add(id(node))
        if self.count > self.max_values or self.count - len(self.distinct) > self.max_alias_values:
            raise self.too_many(node, path)
        if depth > self.deepest:
            if depth > MAX_DEPTH:
                raise self.error(f"nesting is deeper than {MAX_DEPTH} levels (a recursive alias?)", node, path)
            self.deepest = depth
        mark = node.start_mark
        self.doc.positions.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise self.error(f"unsupported YAML tag {node.tag!r}", node)
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise self.error(f"unsupported YAML tag {node.tag!r}", node)
            self.doc.end_lines.setdefault(path, _last_line(node))
            return self.mapping(node, path, depth)
        raise self.error("unsupported YAML node", node)  # pragma: no cover - PyYAML has no other kind

    def too_many(self, node: Node, path: PathT) -> ConfigError:
        aliased = self.count - len(self.distinct)
        if aliased > self.limits.max_alias_values:
            limit, var = self.limits.max_alias_values, Limits.ENV["max_alias_values"]
            return self.error(f"the document expands to more than {limit:,} values through aliases (aliases "
                              f"referring to aliases?); if that is intended, raise the limit with {var}=<count>",
                              node, path)
        limit, var = self.limits.max_values, Limits.ENV["max_values"]
        return self.error(f"the file holds more than {limit:,} values; split the config into several files, "
                          f"or raise the limit with {var}=<count>", node, path)

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            if "${" in node.value:
                self.doc.has_references = True
            return node.value  # what construct_yaml_str returns
        if tag == _TIMESTAMP:
            # Dates stay text: a config is JSON-shaped data and the API takes strings.
            return node.value
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            raise self.error(f"unsupported YAML tag {node.tag!r}", node)
        try:
            value = construct(node)
        except (ValueError, TypeError, yaml.YAMLError):
            # PyYAML resolves e.g. `0x_` as an int and then fails to convert it.
            raise self.error(f"{node.value!r} cannot be read as a {node.tag.rsplit(':', 1)[-1]}", node) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"{node.value!r} is not a finite number", node)
        return value

    def mapping(self, node: MappingNode, path: PathT, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        key_positions = self.doc.key_positions
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.error("a mapping key must be a plain value, not a list or mapping", key_node)
            # Keys are their source text: `on:` or `1:` stay the strings "on" and "1".
            key = str(key_node.value)
            child = path + (key,)
            if key in result:  # where its first spelling was is what this loop recorded then
                line, col = key_positions[child]
                raise self.error(f"duplicate key {key!r} (first defined at line {line}, column {col})", key_node,
                                 child)
            mark = key_node.start_mark
            key_positions[child] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, child, depth + 1)
        if not merges:
            return result
        # Explicit keys win over merged ones, as in PyYAML; built after them so that the
        # positions recorded are the explicit ones.
        merged: dict[str, Any] = {}
        for value_node in merges:
            self.merge(value_node, path, depth, merged)
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def merge(self, value_node: Node, path: PathT, depth: int, merged: dict[str, Any]) -> None:
        if isinstance(value_node, SequenceNode):
            self.merge_lists += 1
            sources = value_node.value
        else:
            sources = [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.error("a `<<` merge key needs a mapping or a list of mappings", source)
            value = self.build(source, path, depth + 1)
            for k, v in value.items():
                # The first mapping listed wins, as in PyYAML.
                merged.setdefault(k, v)
