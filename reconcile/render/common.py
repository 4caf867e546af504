"""Helpers the renderers share: value formatting, the symbols of each action, lists diffed
per element, and where a change was declared (citations, links to the repository)."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote

from ..kinds import REGISTRY
from ..plan import MASK, Action, Change, FieldDiff, Plan
from ..plan.model import NOT_DECLARED, FieldSource, Severity

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ROTATE: "↻",
}
COLOR = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
    Action.ROTATE: "cyan",
}


def fmt(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_values(d: FieldDiff) -> tuple[str, str]:
    if d.sensitive:
        return (MASK if d.before is not None else "null", MASK if d.after is not None else "null")
    return fmt(d.before), fmt(d.after)


def headline(c: Change) -> str:
    """`update`, `replace (role cannot be changed in place)`, `delete (not declared…)`."""
    text = c.action.value
    if c.reasons:
        text += f" ({'; '.join(c.reasons)})"
    return text


def deleted_with_parent(plan: Plan) -> dict[str, list[Change]]:
    """Deletes of children whose parent the plan deletes too (a dropped project's keys),
    by the parent's address: shown once, under the parent's delete."""
    deleted = {c.address for c in plan.changes if c.action is Action.DELETE}
    out: dict[str, list[Change]] = {}
    for c in plan.changes:
        parent = REGISTRY[c.kind].parent
        if c.action is Action.DELETE and parent is not None:
            parent_address = REGISTRY[parent].address(c.identity[:-1])
            if parent_address in deleted:
                out.setdefault(parent_address, []).append(c)
    return out


def with_it_line(children: list[Change], shown: int = 5) -> str:
    """`deletes 2 API keys with it: projects.old.keys.a, projects.old.keys.b`."""
    title = REGISTRY[children[0].kind].title
    names = ", ".join(c.address for c in children[:shown])
    more = f" and {len(children) - shown} more" if len(children) > shown else ""
    return f"deletes {len(children)} {title}{'s' if len(children) != 1 else ''} with it: {names}{more}"


# -- lists diffed per element (`scopes: + ai.image, − ai.audio`) ------------------------------
def list_delta(d: FieldDiff) -> tuple[list[Any], list[Any]] | None:
    """(added, removed) elements of a list field, each counted (a list may repeat one);
    None when the diff is not between two lists, or only their order changed."""
    if d.sensitive or not isinstance(d.before, list) or not isinstance(d.after, list):
        return None
    left = [fmt(v) for v in d.before]
    removed: list[Any] = []
    added: list[Any] = []
    for value in d.after:
        key = fmt(value)
        if key in left:
            left.remove(key)
        else:
            added.append(value)
    spare = list(left)
    for value in d.before:
        key = fmt(value)
        if key in spare:
            spare.remove(key)
            removed.append(value)
    return (added, removed) if added or removed else None


def _element(value: Any) -> str:
    return value if isinstance(value, str) and value and "," not in value else fmt(value)


def delta_text(added: list[Any], removed: list[Any]) -> str:
    """`+ ai.image, − ai.audio`: what a list gains, then what it loses."""
    return ", ".join([f"+ {_element(v)}" for v in added] + [f"− {_element(v)}" for v in removed])


# -- where a change was declared --------------------------------------------------------------
def _plain_place(file: str, line: int | None, end_line: int | None = None, commit: str | None = None) -> str:
    return f"{file}:{line}" if line else file


@dataclass(frozen=True)
class CitationStyle:
    """How a citation shows its parts. The words are `change_citation`'s and
    `field_origin`'s; a style only dresses them: plain text for the terminal, links and code
    spans for a pull-request comment (render/markdown.py)."""

    place: Callable[[str, int | None, int | None, str | None], str] = _plain_place
    """(file, line, last line, commit) → a place in the config ("file:line")."""
    commit: Callable[[str], str] = lambda sha: sha[:12]
    subject: Callable[[str], str] = lambda text: f'"{text}"'
    """A commit's subject."""
    reference: Callable[[str], str] = lambda text: text
    """A `${var:NAME}` or `${env:NAME}` as written."""


PLAIN = CitationStyle()


def field_origin(fs: FieldSource, style: CitationStyle = PLAIN) -> str:
    """Where a field's value came from, when not written out in the config file."""
    if fs.origin == "var_file":
        where = style.place(fs.defined_file or "", fs.defined_line, None, None)
        return f"{style.reference(f'${{var:{fs.variable}}}')} from var file {where}"
    if fs.origin == "var":
        return f"{style.reference(f'${{var:{fs.variable}}}')} from --var"
    if fs.origin == "env":
        return f"{style.reference(f'${{env:{fs.variable}}}')} from the environment"
    return ""


def field_source(c: Change, d: FieldDiff) -> FieldSource | None:
    """The source of the top-level field a diff line is under (`metadata` for metadata.env)."""
    if c.source is None:
        return None
    return c.source.fields.get(d.path.split(".", 1)[0].split("[", 1)[0])


def field_citation(c: Change, d: FieldDiff, *, line: bool = True) -> str:
    """`line 17, ${var:rpm} from var file envs/prod/vars.yaml:5` for one diff line;
    without `line`, only where a value not written out in the file came from."""
    fs = field_source(c, d)
    if fs is None:
        return ""
    parts = [f"line {fs.line}"] if fs.line is not None and line else []
    origin = field_origin(fs)
    if origin:
        parts.append(origin)
    return ", ".join(parts)


def change_citation(c: Change, style: CitationStyle = PLAIN) -> str:
    """`examples/base/infrai.yaml:15 (base)`, or for a delete what is missing."""
    if c.source is not None:
        src = c.source
        return f"{style.place(src.file, src.line, src.end_line, None)} ({src.layer})"
    if c.last_declared is not None:
        ld = c.last_declared
        subject = f" {style.subject(ld.subject)}" if ld.subject else ""
        removed = f", removed in {style.commit(ld.removed_in)}" if ld.removed_in else ", removal not committed yet"
        return f"last declared in {style.place(ld.file, None, None, ld.commit)} at {style.commit(ld.commit)}{subject}{removed}"
    return NOT_DECLARED


@dataclass(frozen=True)
class SourceLinks:
    """How to link a config file's lines in the repository at one commit: `repo` is the
    repository's web URL (`https://github.com/o/r`), `commit` the SHA, `style` the host's
    URL shape (`github`: `/blob/SHA/f#L3-L5`, `gitlab`: `/-/blob/SHA/f#L3-5`), `prefix` the
    working directory's path inside the repository and `root` its absolute path (to
    shorten absolute config paths). Built from the CI environment by
    reconcile/cli/source_links.py; pure here."""

    repo: str
    commit: str
    style: str = "github"
    prefix: str = ""
    root: str = ""

    def path(self, file: str) -> str | None:
        """`file` (as the config names it) as a path inside the repository; None outside it."""
        path = file.replace("\\", "/")
        root = self.root.replace("\\", "/").rstrip("/")
        if posixpath.isabs(path):
            if not root or not path.startswith(root + "/"):
                return None
            path = path[len(root) + 1:]
        elif self.prefix:
            path = posixpath.join(self.prefix, path)
        path = posixpath.normpath(path)
        if path == "." or path == ".." or path.startswith("../") or posixpath.isabs(path):
            return None
        return path

    def url(self, file: str, line: int | None = None, end_line: int | None = None,
            commit: str | None = None) -> str | None:
        """The URL of `file` at `line`..`end_line` at the commit (or `commit`); None outside
        the repository."""
        path = self.path(file)
        if path is None:
            return None
        anchor = ""
        if line:
            anchor = f"#L{line}"
            if end_line and end_line > line:
                anchor += f"-L{end_line}" if self.style == "github" else f"-{end_line}"
        blob = "blob" if self.style == "github" else "-/blob"
        return f"{self.repo.rstrip('/')}/{blob}/{commit or self.commit}/{quote(path)}{anchor}"

    def commit_url(self, commit: str) -> str:
        return f"{self.repo.rstrip('/')}/{'commit' if self.style == 'github' else '-/commit'}/{commit}"


# -- severities (impacts and status findings) -------------------------------------------------
_SEVERITY_COLOR = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.DANGER: "red"}


def severity_tag(severity: Severity, style: Callable[..., str]) -> str:
    """`DANGER ` in red (padded so the messages after it line up)."""
    return style(f"{severity.value.upper():<7}", fg=_SEVERITY_COLOR[severity], bold=True)


def severity_counts(severities: Iterable[Severity]) -> list[str]:
    """`["1 danger", "2 warning"]`: how many of each, loudest first, none for an absent one."""
    listed = list(severities)
    return [f"{n} {s.value}" for s in sorted(Severity, key=lambda s: -s.rank) if (n := listed.count(s))]
