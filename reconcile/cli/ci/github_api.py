"""The GitHub REST calls the action makes: one pull-request comment per environment (found
by its hidden marker, then edited in place, never duplicated) and an optional label on
plans that delete or replace.

httpx against `$GITHUB_API_URL` (GitHub Enterprise Server included) with the job's token.
Every failure is a `GitHubError` carrying the HTTP status, which the action turns into a
notice or a warning: a comment that cannot be posted never fails the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ... import __version__
from ...errors import ReconcileError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TIMEOUT_S = 10.0
PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 comments: past that a pull request is not one we can keep tidy


class GitHubError(ReconcileError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def read_only(self) -> bool:
        """403/404 on a write: a fork's pull request (read-only token) or missing permissions."""
        return self.status in (403, 404)


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str  # owner/name
    number: int


def pull_request_from_env(env: Mapping[str, str]) -> PullRequest | None:
    """The pull request this job runs for, from the event payload GitHub writes to
    $GITHUB_EVENT_PATH (pull_request, pull_request_target, or a comment on a PR)."""
    path, repository = env.get("GITHUB_EVENT_PATH"), env.get("GITHUB_REPOSITORY")
    if not path or not repository:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number")
    issue = event.get("issue") or {}
    if number is None and issue.get("pull_request"):
        number = issue.get("number")
    if not isinstance(number, int):
        return None
    return PullRequest((env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"), repository, number)


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" or "updated"
    id: int
    url: str


def comment_has_marker(body: str | None, marker: str) -> bool:
    """Ours when the first line is exactly the marker: a quote of it (`> <!-- … -->`) or a
    marker of another environment (`prod%2Feu` vs `prod-eu`) is not."""
    return (body or "").split("\n", 1)[0].rstrip("\r") == marker


class GitHub:
    def __init__(self, token: str, http: httpx.Client | None = None):
        self.http = http or httpx.Client(timeout=TIMEOUT_S)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": API_VERSION, "User-Agent": f"infrai-reconcile/{__version__}"}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, headers=self.headers, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            try:
                why = response.json().get("message") or response.reason_phrase
            except ValueError:
                why = response.reason_phrase
            raise GitHubError(f"{method} {url}: HTTP {response.status_code}: {why}", response.status_code)
        return response

    def comments(self, pr: PullRequest) -> Iterator[dict[str, Any]]:
        """Every comment of the pull request, following the Link header's `next` pages."""
        url: str | None = f"{pr.api_url}/repos/{pr.repository}/issues/{pr.number}/comments?per_page={PAGE_SIZE}"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._request("GET", url)
            yield from response.json()
            url = response.links.get("next", {}).get("url")

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> CommentResult:
        """Edit the comment whose first line is `marker`, or create it."""
        mine = next((c for c in self.comments(pr) if comment_has_marker(c.get("body"), marker)), None)
        if mine is not None:
            done = self._request("PATCH", f"{pr.api_url}/repos/{pr.repository}/issues/comments/{mine['id']}",
                                 json={"body": body}).json()
            return CommentResult("updated", int(done["id"]), str(done.get("html_url", "")))
        done = self._request("POST", f"{pr.api_url}/repos/{pr.repository}/issues/{pr.number}/comments",
                             json={"body": body}).json()
        return CommentResult("created", int(done["id"]), str(done.get("html_url", "")))

    def set_label(self, pr: PullRequest, label: str, present: bool) -> None:
        """Add or remove a label on the pull request (removing an absent one is fine)."""
        issue = f"{pr.api_url}/repos/{pr.repository}/issues/{pr.number}/labels"
        if present:
            self._request("POST", issue, json={"labels": [label]})
            return
        try:
            self._request("DELETE", f"{issue}/{quote(label, safe='')}")
        except GitHubError as exc:
            if exc.status != 404:
                raise
