"""Secrets files that git would commit: `apply` refuses to write a secret to a file inside a
git work tree unless git ignores it (or `--allow-tracked-secrets`), because such a file is
one `git add .` away from the repository's history.

Asks git itself (`git ls-files`, `git check-ignore`), so every .gitignore, `info/exclude`
and global excludes file counts. No git on PATH, or a path outside any work tree: nothing to
check.
Imports: errors.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from ..errors import ReconcileError

GIT_TIMEOUT_S = 10
FLAG = "--allow-tracked-secrets"


class SecretsFileTrackedByGit(ReconcileError):
    """A secrets file git would commit (exit 1, before any API call)."""


def git_would_track(path: Path) -> str | None:
    """Why git would commit `path` ("is tracked", "is not ignored"), or None when it would not
    (ignored, outside a work tree, no git, or git could not tell)."""
    git = shutil.which("git")
    directory = path.resolve().parent
    if git is None or not directory.is_dir():
        return None

    def ask(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run([git, "-C", str(directory), *args], capture_output=True, text=True,
                                  timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None

    inside = ask("rev-parse", "--is-inside-work-tree")
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    name = path.resolve().name
    tracked = ask("ls-files", "--error-unmatch", "--", name)
    if tracked is not None and tracked.returncode == 0:
        return "is tracked by git"
    ignored = ask("check-ignore", "-q", "--", name)
    if ignored is not None and ignored.returncode == 1:  # 0 ignored, 128 an error: not ours to judge
        return "is inside a git work tree and not ignored"
    return None


def check_secrets_files(paths: Iterable[Path], *, allow: bool, logs_beside: Iterable[Path] = ()) -> list[str]:
    """Raise SecretsFileTrackedByGit naming each file git would commit and the fixes; with
    `allow`, return a warning per file instead. For each of `logs_beside` (file sinks) git
    would not commit, also warn when its crash log would be (`pending_log_warning`)."""
    verdicts = {p: git_would_track(p) for p in dict.fromkeys([*paths, *logs_beside])}
    problems = [(p, why) for p, why in verdicts.items() if why is not None]
    logs = [w for p in dict.fromkeys(logs_beside) if verdicts[p] is None and (w := pending_log_warning(p))]
    if not problems:
        return logs
    if allow:
        return [f"warning: writing secrets to {p}, which {why} ({FLAG})." for p, why in problems] + logs
    lines = [f"{p} {why}" for p, why in problems]
    names = ", ".join(p.name for p, _ in problems)
    raise SecretsFileTrackedByGit(
        "refusing to write secrets where git would commit them; nothing was applied:\n  " + "\n  ".join(lines)
        + f"\nAdd {names} to .gitignore (and `git rm --cached` it if it is already tracked), write it outside "
        f"the work tree, or pass {FLAG} to write it anyway.")


def pending_log_warning(path: Path) -> str | None:
    """A file sink's crash log (`FILE.pending.jsonl`, docs/secrets.md) lives beside FILE and
    holds the secrets a killed apply had not folded into FILE yet. `secrets.json` in a
    .gitignore does not cover it: say so (a warning, since the log exists only after a crash)."""
    log = path.with_name(path.name + ".pending.jsonl")
    why = git_would_track(log)
    if why is None:
        return None
    return (f"warning: {log.name}, the log a killed apply leaves beside {path.name}, {why}: "
            f"add `*.pending.jsonl` (or `{path.name}*`) to .gitignore.")
