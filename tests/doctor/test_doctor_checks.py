"""The doctor's points as plain functions of the answers (reconcile/workflow/doctor.py): each
divergence gets its status and says what it would break."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

from reconcile.workflow.doctor import (
    FAIL,
    PASS,
    WARN,
    Probe,
    check_auth,
    check_clock,
    check_error_shape,
    check_list,
    check_pages,
    check_rate_limits,
)
from reconcile.kinds import REGISTRY, LiveContext

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=timezone.utc).timestamp()
WHO = {"account_id": "acct_1", "tier": "pro", "status": "active", "caller": {"key_id": "key_1", "project_id": "proj_1"}}
PROJECT = {"id": "proj_1", "name": "web", "scopes": [], "metadata": {}, "rate_limit_rpm": None,
           "created_at": "2026-12-01T00:00:00Z"}


def answer(body, status=200, headers=None, at=NOW, earlier=()):
    return Probe(status, headers or {}, body, at, earlier)


def test_auth_passes_names_the_account_and_warns_without_the_caller():
    assert check_auth(answer(WHO)).status == PASS
    no_caller = check_auth(answer({k: v for k, v in WHO.items() if k != "caller"}))
    assert no_caller.status == WARN and "--prune would offer to delete them" in no_caller.breaks
    refused = check_auth(answer({"error": {"code": "UNAUTHENTICATED", "message": "unknown key"}}, 401))
    assert refused.status == FAIL and refused.detail == "GET whoami answered HTTP 401 UNAUTHENTICATED: unknown key"


def test_a_field_of_another_type_fails_naming_both_types():
    page = answer({"items": [{**PROJECT, "rate_limit_rpm": "600"}], "next_cursor": None})
    check = check_list(REGISTRY["project"], page, LiveContext())
    assert check.status == FAIL and check.detail == "`rate_limit_rpm` is string, not integer or null"


def test_a_missing_identity_or_id_says_plan_would_create_again():
    page = answer({"items": [{k: v for k, v in PROJECT.items() if k not in ("id", "name")}], "next_cursor": None})
    check = check_list(REGISTRY["project"], page, LiveContext())
    assert check.status == FAIL and check.detail == "items lack `id`; items lack `name`"
    assert "updates and deletes would fail" in check.breaks and "create every declared one again" in check.breaks


def test_a_missing_computed_field_is_a_warning():
    page = answer({"items": [{k: v for k, v in PROJECT.items() if k != "created_at"}], "next_cursor": None})
    assert check_list(REGISTRY["project"], page, LiveContext()).status == WARN


def test_an_unpaginated_list_that_pages_fails():
    keys = answer({"items": [{"key_id": "key_1"}], "next_cursor": "abc"})
    check = check_pages(REGISTRY["api_key"], keys, lambda *a: None)
    assert check.status == FAIL and "those past the first page would look missing" in check.breaks


def test_the_error_envelope():
    assert check_error_shape(answer({"error": {"code": "NOT_FOUND", "message": "x"}}, 404)).status == PASS
    html = check_error_shape(answer("<html>not found</html>", 404))
    assert html.status == WARN and "HTTP_<status>" in html.breaks
    assert check_error_shape(answer({"id": "x"}, 200)).status == FAIL


def test_rate_limit_headers_and_retry_after():
    limited = answer({}, headers={"x-ratelimit-limit": "600", "x-ratelimit-remaining": "598"})
    assert check_rate_limits([limited]).detail == "x-ratelimit-limit: 600, x-ratelimit-remaining: 598"
    spent = answer({}, headers={"ratelimit-remaining": "0"})
    assert check_rate_limits([spent]).status == WARN
    retried = answer({}, earlier=(answer(None, 429, {"retry-after": "2"}),))
    assert check_rate_limits([retried]).status == PASS
    bare = answer({}, earlier=(answer(None, 429),))
    check = check_rate_limits([bare])
    assert check.status == WARN and "backs off exponentially" in check.breaks


def test_clock_skew_from_date_then_server_time():
    ahead = format_datetime(datetime.fromtimestamp(NOW + 120, timezone.utc), usegmt=True)
    check = check_clock(answer(WHO, headers={"date": ahead}))
    assert check.status == WARN and check.detail == "Date is 120 s ahead of this machine"
    in_step = check_clock(answer({**WHO, "server_time": "2026-12-02T11:59:58Z"}))
    assert in_step.status == PASS and in_step.detail == "whoami.server_time is 2 s behind this machine"
    assert check_clock(answer(WHO)).status == WARN


def test_every_kind_has_a_write_scope_from_the_vocabulary():
    from reconcile.kinds import KINDS
    from reconcile.kinds.capabilities import READ_SCOPE, WRITE_SCOPE
    from reconcile.kinds.vocab import SCOPES

    assert set(WRITE_SCOPE) == {k.name for k in KINDS}
    assert set(WRITE_SCOPE.values()) | {READ_SCOPE} <= set(SCOPES)
