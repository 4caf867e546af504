"""A fake GitHub REST API for the action's PR comments and labels, served on a loopback port
by the tests (tests/emulator/live_server.py) under /api/v3, as GitHub Enterprise Server
serves it. It keeps comments and labels per pull request, pages comment lists with a Link
header like GitHub, checks the token, refuses writes with 403 when `read_only` (a fork's
pull request) and bodies over 65,536 characters with 422, and records every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

MAX_BODY = 65_536


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    authorization: str
    json: Any


@dataclass
class FakeGitHub:
    token: str = "ghs_fake-job-token"
    read_only: bool = False
    page_size: int = 30
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[int, set[str]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    api_url: str = ""  # set by the test once it serves the app
    _next_id: int = 1000

    def add_comment(self, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        self._next_id += 1
        comment = {"id": self._next_id, "body": body, "user": {"login": login, "type": "User"},
                   "html_url": f"https://github.example/o/r/pull/{number}#issuecomment-{self._next_id}"}
        self.comments.setdefault(number, []).append(comment)
        return comment

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    # -- the ASGI app ----------------------------------------------------------------
    def app(self) -> Starlette:
        async def record(request: Request) -> Response | None:
            body = None
            if request.method in ("POST", "PATCH"):
                body = await request.json()
            self.requests.append(Recorded(request.method, request.url.path, request.url.query,
                                          request.headers.get("authorization", ""), body))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse({"message": "Bad credentials"}, 401)
            if request.method != "GET" and self.read_only:
                return JSONResponse({"message": "Resource not accessible by integration"}, 403)
            if body is not None and len(str(body.get("body", ""))) > MAX_BODY:
                return JSONResponse({"message": "Validation Failed", "errors": [{"field": "body"}]}, 422)
            return None

        async def issue_comments(request: Request) -> Response:
            if (refused := await record(request)) is not None:
                return refused
            number = int(request.path_params["number"])
            if request.method == "POST":
                return JSONResponse(self.add_comment(number, (await request.json())["body"], "github-actions[bot]"),
                                    201)
            per_page = min(int(request.query_params.get("per_page", self.page_size)), self.page_size)
            page = int(request.query_params.get("page", 1))
            items = self.comments.get(number, [])
            chunk = items[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(items):
                url = request.url.replace(query=f"per_page={per_page}&page={page + 1}")
                headers["Link"] = f'<{url}>; rel="next"'
            return JSONResponse(chunk, headers=headers)

        async def edit_comment(request: Request) -> Response:
            if (refused := await record(request)) is not None:
                return refused
            cid = int(request.path_params["cid"])
            for items in self.comments.values():
                for c in items:
                    if c["id"] == cid:
                        c["body"] = (await request.json())["body"]
                        return JSONResponse(c)
            return JSONResponse({"message": "Not Found"}, 404)

        async def labels(request: Request) -> Response:
            if (refused := await record(request)) is not None:
                return refused
            number = int(request.path_params["number"])
            have = self.labels.setdefault(number, set())
            if request.method == "POST":
                have.update((await request.json())["labels"])
                return JSONResponse([{"name": n} for n in sorted(have)])
            name = request.path_params.get("name")
            if name not in have:
                return JSONResponse({"message": "Label does not exist"}, 404)
            have.discard(name)
            return JSONResponse([{"name": n} for n in sorted(have)])

        # Under /api/v3, as GitHub Enterprise Server serves it: the client must use GITHUB_API_URL.
        return Starlette(routes=[Mount("/api/v3", routes=[
            Route("/repos/{owner}/{repo}/issues/{number:int}/comments", issue_comments, methods=["GET", "POST"]),
            Route("/repos/{owner}/{repo}/issues/comments/{cid:int}", edit_comment, methods=["PATCH"]),
            Route("/repos/{owner}/{repo}/issues/{number:int}/labels", labels, methods=["POST"]),
            Route("/repos/{owner}/{repo}/issues/{number:int}/labels/{name}", labels, methods=["DELETE"]),
        ])])
