"""Where a plan's citations link to: the repository and commit the CI job runs on.

GitHub Actions: `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY` at the pull request's head commit
(`pull_request.head.sha` of the event payload at `GITHUB_EVENT_PATH`, else `GITHUB_SHA`,
which for a pull request is a merge commit the PR's diff does not show). GitLab CI:
`CI_PROJECT_URL` at `CI_COMMIT_SHA`. Elsewhere: no links (plans cite `file:line`).
The markdown renderer gets the result as a pure `SourceLinks` (docs/ci.md#citations).
Imports: render.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..render.common import SourceLinks

# An event payload is a few KiB; a larger file is not read whole.
MAX_EVENT_BYTES = 5 * 1024 * 1024
_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")


def _pr_head_sha(env: Mapping[str, str]) -> str | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_EVENT_BYTES + 1)
        if len(data) > MAX_EVENT_BYTES:
            return None
        payload: Any = json.loads(data)
    except (OSError, ValueError):
        return None
    pr = payload.get("pull_request") if isinstance(payload, dict) else None
    head = pr.get("head") if isinstance(pr, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and sha else None


def _prefix(root: str | None, cwd: str) -> str:
    """The working directory's path inside the repository ("" at its root or outside it)."""
    if not root:
        return ""
    try:
        rel = os.path.relpath(os.path.realpath(cwd), os.path.realpath(root))
    except ValueError:  # another drive (Windows)
        return ""
    return "" if rel == "." or rel.startswith("..") else rel.replace(os.sep, "/")


def links_from_env(env: Mapping[str, str] | None = None, cwd: str | None = None) -> SourceLinks | None:
    """The links of this CI job, or None outside GitHub Actions and GitLab CI (or when the
    variables needed are not all set)."""
    env = os.environ if env is None else env
    cwd = cwd or os.getcwd()
    repo = env.get("GITHUB_REPOSITORY")
    if repo:
        sha = None
        if env.get("GITHUB_EVENT_NAME", "pull_request") in _PR_EVENTS:
            sha = _pr_head_sha(env)
        sha = sha or env.get("GITHUB_SHA")
        if not sha:
            return None
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        root = env.get("GITHUB_WORKSPACE") or cwd
        return SourceLinks(f"{server}/{repo}", sha, "github", _prefix(root, cwd), root)
    project, sha = env.get("CI_PROJECT_URL"), env.get("CI_COMMIT_SHA")
    if project and sha:
        root = env.get("CI_PROJECT_DIR") or cwd
        return SourceLinks(project.rstrip("/"), sha, "gitlab", _prefix(root, cwd), root)
    return None
