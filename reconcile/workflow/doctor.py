"""`reconcile doctor`: is the API at this endpoint the one the reconciler assumes?

The emulator is our reading of the API's docs; this module probes a real endpoint with
read-only GETs and checks, point by point, what the reconciler relies on:

- `auth`: `whoami` answers (account, tier, status) and names the calling key and project;
- `scopes`: what the key may change (a kind whose write scope it lacks cannot be applied);
- `list <kind>`: each list the live reader makes answers `{items, next_cursor}` whose items,
  normalised by the kind's own `from_live`, carry every field with the JSON type the kind
  declares, and their ids;
- `pages <kind>`: on a paginated list, `limit` is honoured, `next_cursor` carries the next
  page and that page is another one; on an unpaginated list, no cursor;
- `errors`: a deliberate 404 (a GET of an id that cannot exist) answers the documented error
  envelope `{"error": {"code", "message"}}`;
- `rate limits`: the rate-limit headers the API sends, and `Retry-After` on any 429/503;
- `clock`: skew between the API's `Date` (or `whoami.server_time`) and this machine.

Each point is pass / warn / fail with what a divergence would break in the reconciler.
Nothing here writes: every probe is a GET. The probing goes through a `Prober` (the CLI
adapts the API client to it), so the checks themselves are plain functions of the answers.

Imports: kinds, client (constants), config.schema (how kinds map onto the config).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..client import MAX_PAGE_SIZE, parse_retry_after
from ..config.schema import implied_fields
from ..kinds import KINDS, KindSpec, LiveContext
from ..kinds.base import default_from_live
from ..kinds.capabilities import READ_SCOPE, WRITE_SCOPE
from ..kinds.units import parse_api_time
from ..kinds.vocab import SCOPES

PASS, WARN, FAIL = "pass", "warn", "fail"
WHOAMI = "/v1/account/whoami"
# An id no API hands out (ids are opaque but never contain "doctor"): its GET must be a 404.
MISSING_PROJECT = "/v1/account/projects/get/proj_doctor_probe_does_not_exist"
# Skew above this makes the API's and this machine's notion of "now" disagree noticeably.
CLOCK_TOLERANCE_S = 30.0
RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-ratelimit-limit",
                      "x-ratelimit-remaining", "x-ratelimit-reset")
# What a missing computed field costs (others are only shown in plans and exports).
COMPUTED_USE = {
    "created_at": "rotate_after measures a never-rotated key's age from it",
    "last_rotated_at": "rotate_after measures a rotated key's age from it",
    "status": "revoked keys are told from active ones by it",
}


@dataclass(frozen=True)
class Probe:
    """One answer: its status, headers (lower-case names), parsed JSON body and when it came
    (POSIX time on this machine)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    received_at: float
    # Answers to the same request that were retried before this one (a 429, a 503).
    earlier: tuple["Probe", ...] = ()


class Prober(Protocol):
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Probe: ...


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    # What this divergence would break in the reconciler (empty on a pass).
    breaks: str = ""


@dataclass
class Report:
    endpoint: str
    checks: list[Check] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (PASS, WARN, FAIL)}

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def to_data(self) -> dict[str, Any]:
        return {"version": 1, "endpoint": self.endpoint, "ok": self.ok, "summary": self.counts,
                "checks": [asdict(c) for c in self.checks]}


def probed_paths(kinds: Sequence[KindSpec] = KINDS) -> list[tuple[str, str]]:
    """(method, path) of every call doctor makes: for docs/capabilities.md."""
    return [("GET", WHOAMI), ("GET", MISSING_PROJECT.rsplit("/", 1)[0] + "/{id}")] + [
        ("GET", k.api.list.path) for k in kinds]


def run_doctor(prober: Prober, endpoint: str, kinds: Sequence[KindSpec] = KINDS) -> Report:
    """Every point, in order; a point whose probe fails outright is a fail naming why."""
    report = Report(endpoint)
    seen: list[Probe] = []

    def get(path: str, params: Mapping[str, Any] | None = None) -> Probe:
        probe = prober.get(path, params)
        seen.append(probe)
        return probe

    who = get(WHOAMI)
    report.checks.append(check_auth(who))
    if who.status in (401, 403):
        return report  # nothing else can answer with this key
    pages: dict[str, Probe] = {}
    for kind in kinds:
        params = {"limit": MAX_PAGE_SIZE} if kind.api.paginated and not kind.singleton else None
        pages[kind.name] = get(kind.api.list.path, params)
    ctx = LiveContext(project_names=_project_names(pages.get("project")))
    for kind in kinds:
        report.checks.append(check_list(kind, pages[kind.name], ctx))
        if not kind.singleton:
            report.checks.append(check_pages(kind, pages[kind.name], get))
    report.checks.append(check_scopes(who, pages.get("api_key"), pages.get("project"), seen))
    report.checks.append(check_error_shape(get(MISSING_PROJECT)))
    report.checks.append(check_rate_limits(seen))
    report.checks.append(check_clock(who))
    return report


# -- the points ------------------------------------------------------------------------------
def _error(probe: Probe) -> tuple[str, str]:
    error = probe.body.get("error") if isinstance(probe.body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or f"HTTP_{probe.status}"), str(error.get("message") or "")
    return f"HTTP_{probe.status}", ""


def _failed(name: str, probe: Probe, what: str, breaks: str) -> Check:
    code, message = _error(probe)
    return Check(name, FAIL, f"{what} answered HTTP {probe.status} {code}" + (f": {message}" if message else ""), breaks)


def check_auth(who: Probe) -> Check:
    if who.status != 200:
        breaks = ("every command: the key is not accepted (INFRAI_API_KEY)" if who.status == 401 else
                  "every command: plan reads whoami first" if who.status != 403 else
                  f"every command: reads need the {READ_SCOPE} scope")
        return _failed("auth", who, "GET whoami", breaks)
    body = who.body if isinstance(who.body, dict) else {}
    missing = [k for k in ("account_id", "tier", "status") if k not in body]
    detail = (f"account {body.get('account_id', '?')}, tier {body.get('tier', '?')}, "
              f"status {body.get('status', '?')}")
    if missing:
        return Check("auth", WARN, f"{detail}; whoami lacks {', '.join(missing)}",
                     "nothing the reconciler needs, but the account cannot be named in reports")
    raw_caller = body.get("caller")
    caller = raw_caller if isinstance(raw_caller, dict) else {}
    if not caller.get("key_id") or not caller.get("project_id"):
        return Check("auth", WARN, f"{detail}; whoami does not name the calling key and project (`caller`)",
                     "plan cannot tell the key and project it calls with: they show as unmanaged, and "
                     "--prune would offer to delete them")
    if body.get("status") != "active":
        return Check("auth", WARN, detail, "the account is not active: applies may be refused")
    return Check("auth", PASS, f"{detail}; calling with key {caller['key_id']} of project {caller['project_id']}")


def check_list(kind: KindSpec, page: Probe, ctx: LiveContext) -> Check:
    name = f"list {kind.config_key}"
    if page.status != 200:
        return _failed(name, page, f"GET {kind.api.list.path}",
                       f"plan, apply and export: {kind.config_key} cannot be read")
    if kind.singleton:
        raws = [page.body] if isinstance(page.body, dict) else []
        if not raws:
            return Check(name, FAIL, f"the answer is {_type(page.body)}, not an object",
                         f"plan cannot read {kind.config_key}")
    else:
        items = page.body.get("items") if isinstance(page.body, dict) else None
        if not isinstance(items, list):
            keys = sorted(page.body) if isinstance(page.body, dict) else []
            return Check(name, FAIL, f"the answer has no `items` list (keys: {', '.join(keys) or _type(page.body)})",
                         f"plan fails reading {kind.config_key}: the client expects {{items, next_cursor}}")
        raws = [i for i in items if isinstance(i, dict)]
        if not raws:
            return Check(name, WARN, "no items, so no fields to check: run doctor again once the account has one")
    problems: list[tuple[str, str]] = []  # (what is wrong, what it breaks)
    for raw in raws:
        problems += _item_problems(kind, raw, ctx)
    if not problems:
        count = "" if kind.singleton else f"{len(raws)} item(s): "
        return Check(name, PASS, f"{count}every field the {kind.title} kind reads, with the expected types")
    unique = list(dict.fromkeys(problems))
    worst = FAIL if any(not b.startswith("(warn)") for _, b in unique) else WARN
    return Check(name, worst, "; ".join(w for w, _ in unique),
                 "; ".join(b.removeprefix("(warn) ") for _, b in unique))


def _item_problems(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    title = kind.title
    if not kind.singleton and not raw.get(kind.api.id_field):
        out.append((f"items lack `{kind.api.id_field}`",
                    f"apply cannot address a live {title}: its updates and deletes would fail"))
    item = (kind.from_live or default_from_live)(kind, raw, ctx)
    if item is None:
        return out  # deliberately skipped (a revoked key)
    implied = set(implied_fields(kind))
    for fname, f in kind.fields.items():
        if f.write_only or fname in kind.secret_outputs:
            continue  # never read back: nothing to check
        spelled = next((a for a, n in kind.config_aliases.items() if n == fname), fname)
        value = item.values.get(fname)
        nullable = _allows(f.schema, None)
        if value is None and not (nullable and fname in raw):
            if fname in implied:
                out.append((f"items do not name their {fname}",
                            f"a live {title} cannot be matched to its {fname}: plan would create declared ones again"))
            elif fname in kind.identity:
                out.append((f"items lack `{fname}`",
                            f"plan cannot match live {title}s to the config: it would create every declared one "
                            "again (and --prune would delete the live ones)"))
            elif f.computed:
                out.append((f"items lack `{fname}`", "(warn) " + COMPUTED_USE.get(fname, "it is shown in plans only")))
            else:
                out.append((f"items lack `{spelled}`",
                            f"plan would see `{spelled}` as unset on every live {title} and plan an update on every run"))
        elif value is not None and not _allows(f.schema, value):
            out.append((f"`{spelled}` is {_type(value)}, not {_types(f.schema)}",
                        f"plan would compare `{spelled}` with a value of another type: a change on every run"))
    return out


def check_pages(kind: KindSpec, first: Probe, get: Callable[..., Probe]) -> Check:
    name = f"pages {kind.config_key}"
    body = first.body if isinstance(first.body, dict) else {}
    items = body.get("items") if isinstance(body.get("items"), list) else None
    if first.status != 200 or items is None:
        return Check(name, FAIL, "the list itself is not readable (see its list point)", f"every read of {kind.config_key}")
    cursor_like = _cursor_like(body)
    if not kind.api.paginated:
        if body.get("next_cursor") or cursor_like:
            where = "next_cursor" if body.get("next_cursor") else cursor_like
            return Check(name, FAIL, f"documented without pagination, but the answer carries a cursor (`{where}`)",
                         f"the reconciler reads {kind.config_key} with one call: those past the first page would "
                         "look missing, and plan would create them again")
        return Check(name, PASS, "one call returns every item, no cursor (as documented)")
    if len(items) > MAX_PAGE_SIZE:
        return Check(name, FAIL, f"asked for at most {MAX_PAGE_SIZE}, got {len(items)}",
                     "`limit` is ignored: page sizes are the server's, and pages may overlap")
    if len(items) < 2:
        return Check(name, WARN, f"{len(items)} item(s): `limit` and the cursor need two to check; "
                     "run doctor again once the account has two")
    one = get(kind.api.list.path, {"limit": 1})
    body1 = one.body if isinstance(one.body, dict) else {}
    raw_items1 = body1.get("items")
    items1 = raw_items1 if isinstance(raw_items1, list) else []
    problems: list[tuple[str, str]] = []
    if one.status != 200:
        return _failed(name, one, f"GET {kind.api.list.path}?limit=1", f"reading {kind.config_key} in pages")
    if len(items1) > 1:
        problems.append((f"`limit` ignored: asked for 1 item, got {len(items1)}",
                         f"the client sizes pages with limit={MAX_PAGE_SIZE}; pages of the server's size mean "
                         "more round trips, or repeated items across pages"))
    cursor = body1.get("next_cursor")
    if len(items1) == 1 and not cursor:
        where = f"; the cursor seems to come as `{_cursor_like(body1)}`" if _cursor_like(body1) else ""
        problems.append((f"no `next_cursor` although more items follow{where}",
                         f"plan would read only the first page of {kind.config_key} ({MAX_PAGE_SIZE}): those after "
                         "it would look missing, be planned again and fail as duplicates"))
    elif len(items1) == 1:
        two = get(kind.api.list.path, {"limit": 1, "cursor": cursor})
        items2 = two.body.get("items") if two.status == 200 and isinstance(two.body, dict) else None
        if not isinstance(items2, list):
            problems.append((f"the next page answered HTTP {two.status}", f"plan fails on a {kind.config_key} "
                             f"list longer than {MAX_PAGE_SIZE}"))
        elif items2[:1] == items1[:1] or not items2:
            problems.append(("`cursor` is not honoured: the next page repeats the first" if items2 else
                             "the next page is empty although more items follow",
                             f"plan fails (or misses objects) on a {kind.config_key} list longer than {MAX_PAGE_SIZE}"))
    if problems:
        return Check(name, FAIL, "; ".join(p for p, _ in problems), "; ".join(b for _, b in problems))
    return Check(name, PASS, "`limit` honoured (1 asked, 1 given); `next_cursor` leads to the next page")


def check_scopes(who: Probe, keys: Probe | None, projects: Probe | None, seen: Sequence[Probe]) -> Check:
    denied = [p for p in seen if p.status == 403]
    if denied:
        _, message = _error(denied[0])
        return Check("scopes", FAIL, f"{len(denied)} read(s) refused with 403" + (f": {message}" if message else ""),
                     f"plan and export: reads need {READ_SCOPE}")
    caller = (who.body or {}).get("caller") if isinstance(who.body, dict) else None
    key_id = caller.get("key_id") if isinstance(caller, dict) else None
    key = _find(keys, "key_id", key_id)
    project = _find(projects, "id", caller.get("project_id") if isinstance(caller, dict) else None)
    if key is None or project is None:
        return Check("scopes", WARN, "cannot tell the calling key's scopes (whoami names no key found in the lists)",
                     "unknown: an apply may meet 403s on the kinds its key cannot change")
    effective = _effective(key.get("scopes") or [], project.get("scopes") or [])
    lacking = sorted({s for s in WRITE_SCOPE.values() if s not in effective})
    shown = "all" if set(effective) == set(SCOPES) else ", ".join(sorted(effective))
    if not lacking:
        return Check("scopes", PASS, f"the key may read and change every kind (scopes: {shown})")
    kinds = sorted(k.config_key for k in KINDS if WRITE_SCOPE.get(k.name) in lacking)
    return Check("scopes", WARN, f"the key lacks {', '.join(lacking)} (scopes: {shown})",
                 f"apply fails with 403 on changes to {', '.join(kinds)}; plan and export work")


def check_error_shape(probe: Probe) -> Check:
    name = "errors"
    if probe.status == 200:
        return Check(name, FAIL, "a GET of an id that cannot exist answered 200",
                     "the tool cannot tell a deleted object from a live one")
    error = probe.body.get("error") if isinstance(probe.body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) or "message" not in error:
        return Check(name, WARN, f"HTTP {probe.status} without the documented envelope "
                     f"{{\"error\": {{\"code\", \"message\"}}}} (got {_type(probe.body)})",
                     "error messages show HTTP_<status> and the raw text instead of the API's code, "
                     "message and field")
    if probe.status != 404:
        return Check(name, WARN, f"an unknown id answered {probe.status} {error['code']}, not 404",
                     "messages about objects deleted behind the tool's back name the wrong cause")
    return Check(name, PASS, f"an unknown id answers 404 with the documented envelope (code {error['code']})")


def check_rate_limits(probes: Sequence[Probe]) -> Check:
    name = "rate limits"
    seen = [answer for p in probes for answer in (*p.earlier, p)]
    throttled = [p for p in seen if p.status in (429, 503)]
    bad = [p for p in throttled if parse_retry_after(p.headers.get("retry-after")) is None]
    if bad:
        return Check(name, WARN, f"{len(bad)} answer(s) {bad[0].status} without a usable Retry-After",
                     "the client then backs off exponentially instead of waiting as long as the API asks")
    sent = {h: p.headers[h] for p in seen if p.status == 200 for h in RATE_LIMIT_HEADERS if h in p.headers}
    note = f"; {len(throttled)} throttled answer(s), each with Retry-After" if throttled else ""
    if not sent:
        return Check(name, PASS, "no rate-limit headers (the client does not need them: it backs off on 429 and "
                     f"honours Retry-After){note}")
    remaining = next((v for h, v in sent.items() if h.endswith("remaining")), None)
    shown = ", ".join(f"{h}: {v}" for h, v in sorted(sent.items()))
    if remaining is not None and remaining.strip() == "0":
        return Check(name, WARN, f"{shown}{note}", "the key's rate limit is spent: a plan now waits for the window")
    return Check(name, PASS, f"{shown}{note}")


def check_clock(who: Probe) -> Check:
    name = "clock"
    server, source = None, ""
    if who.headers.get("date"):
        try:
            server, source = parsedate_to_datetime(who.headers["date"]), "Date"
        except (TypeError, ValueError, IndexError):
            server = None
    body = who.body if isinstance(who.body, dict) else {}
    if server is None and (server := parse_api_time(body.get("server_time"))) is not None:
        source = "whoami.server_time"
    if server is None:
        return Check(name, WARN, "no Date header and no whoami.server_time: skew not measured",
                     "rotate_after then uses this machine's clock, which may differ from the API's")
    if server.tzinfo is None:
        server = server.replace(tzinfo=timezone.utc)
    skew = server.timestamp() - who.received_at
    detail = f"{source} is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} this machine"
    if abs(skew) > CLOCK_TOLERANCE_S:
        return Check(name, WARN, detail, "a Retry-After given as a date is misread by the skew; keys look older or "
                     "younger than they are if rotate_after falls back to this machine's clock")
    return Check(name, PASS, detail)


# -- helpers ---------------------------------------------------------------------------------
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _declared_types(schema: Mapping[str, Any]) -> list[str]:
    types = schema.get("type")
    return [types] if isinstance(types, str) else list(types or [])


def _allows(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether the field's JSON type admits the value (only the type: live values may lie
    outside the config's ranges, which export handles)."""
    types = _declared_types(schema)
    return not types or any(_JSON_TYPES[t](value) for t in types if t in _JSON_TYPES)


def _types(schema: Mapping[str, Any]) -> str:
    return " or ".join(_declared_types(schema)) or "any"


def _type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _JSON_TYPES[name](value):
            return name
    return type(value).__name__


def _cursor_like(body: Mapping[str, Any]) -> str | None:
    """Another key of a page that looks like a cursor (a non-empty string besides `items`)."""
    return next((k for k, v in body.items() if k not in ("items", "next_cursor") and isinstance(v, str) and v
                 and ("cursor" in k.lower() or k.lower() in ("next", "next_page", "continuation", "page_token"))), None)


def _project_names(page: Probe | None) -> dict[str, str]:
    items = page.body.get("items") if page is not None and isinstance(page.body, dict) else None
    return {str(p.get("id")): p["name"] for p in items or [] if isinstance(p, dict) and isinstance(p.get("name"), str)}


def _find(page: Probe | None, id_field: str, wanted: Any) -> Mapping[str, Any] | None:
    items = page.body.get("items") if page is not None and isinstance(page.body, dict) else None
    return next((i for i in items or [] if isinstance(i, dict) and wanted and i.get(id_field) == wanted), None)


def _effective(key_scopes: Sequence[str], project_scopes: Sequence[str]) -> set[str]:
    """A key's scopes bounded by its project's; an empty list means the whole module."""
    key = set(key_scopes) or set(SCOPES)
    project = set(project_scopes) or set(SCOPES)
    return key & project
