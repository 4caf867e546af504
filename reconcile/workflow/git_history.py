"""What a delete cites: the config file and the last commit that declared the resource.

A delete has no line to cite: nothing declares it any more. When the config is in a git
work tree, `git log -S<name>` over the config paths finds the newest commit that changed how
often the resource's name occurs there; if that commit's file still holds the name, the
resource was last declared there (its removal is not committed yet), else the commit removed
it and its parent is the last one that declared it. Bounded: at most `MAX_LOOKUPS` deletes
are looked up, all within `TIMEOUT_S` seconds of wall time in total (a monotonic clock);
what is not found is cited as "not declared in any config file". No git on PATH, or not a
work tree: nothing is looked up.
Imports: plan.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from collections.abc import Sequence

from ..plan import Action, Change, Plan
from ..plan.model import LastDeclared

TIMEOUT_S = 5.0
MAX_LOOKUPS = 20


class _OutOfTime(Exception):
    pass


class _Git:
    def __init__(self, git: str, deadline: float):
        self.git = git
        self.deadline = deadline

    def run(self, *args: str) -> str | None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        try:
            done = subprocess.run([self.git, *args], capture_output=True, timeout=left, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise _OutOfTime from None
        except OSError:
            return None
        return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def _search_term(change: Change) -> str | None:
    """The text a declaration of the resource must contain: its own name (url, email…)."""
    if not change.identity:
        return None
    last = change.identity[-1]
    text = str(last) if not isinstance(last, bool) else None
    return text if text and len(text) >= 2 else None


def _lookup(git: _Git, term: str, paths: Sequence[str]) -> LastDeclared | None:
    out = git.run("log", "-S" + term, "--relative", "--no-renames", "-n", "1", "--name-only",
                  "--format=%x00%H%x00%cI%x00%s", "--", *paths)
    if not out or "\0" not in out:
        return None
    _, sha, date, rest = out.split("\0", 3)
    subject, _, names = rest.partition("\n")
    files = [n for n in names.splitlines() if n.strip()]
    if not files:
        return None
    # The commit still holding the name declared it last; otherwise it removed it.
    for file in files:
        shown = git.run("show", f"{sha}:./{file}")
        if shown is not None and term in shown:
            return LastDeclared(file, sha, date, subject)
    parent = (git.run("rev-parse", "--verify", "--quiet", f"{sha}^") or "").strip()
    if not parent:
        return None
    parent_date = (git.run("show", "-s", "--format=%cI", parent) or "").strip()
    parent_subject = (git.run("show", "-s", "--format=%s", parent) or "").strip()
    return LastDeclared(files[0], parent, parent_date, parent_subject, removed_in=sha)


def with_history(plan: Plan, paths: Sequence[str], *, timeout_s: float = TIMEOUT_S,
                 max_lookups: int = MAX_LOOKUPS) -> Plan:
    """The plan with each delete's `last_declared` filled in where git knows it."""
    deletes = [c for c in plan.changes if c.action is Action.DELETE and c.source is None]
    git_path = shutil.which("git")
    if not deletes or not paths or git_path is None:
        return plan
    git = _Git(git_path, time.monotonic() + timeout_s)
    found: dict[str, LastDeclared] = {}
    try:
        if (git.run("rev-parse", "--is-inside-work-tree") or "").strip() != "true":
            return plan
        for c in deletes[:max_lookups]:
            term = _search_term(c)
            if term is None:
                continue
            hit = _lookup(git, term, paths)
            if hit is not None:
                found[c.address] = hit
    except _OutOfTime:
        pass  # what was found so far is kept; the rest cite nothing
    if not found:
        return plan
    changes = tuple(dataclasses.replace(c, last_declared=found[c.address]) if c.address in found else c
                    for c in plan.changes)
    return dataclasses.replace(plan, changes=changes)
