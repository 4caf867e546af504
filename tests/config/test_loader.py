"""load_config: schema errors located exactly, merging, duplicates, reference checks and
the DesiredState it builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config import load_config, validate_only
from reconcile.errors import ValidationError

from .conftest import at, errors, one_error

# Every test runs over both YAML composers (libyaml and pure Python).
pytestmark = pytest.mark.usefixtures("yaml_path")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FULL_ENV = {"WEBHOOK_SECRET": "s3cret-value-1234", "RPM": "600"}


# -- the state built ----------------------------------------------------------------------
def test_full_fixture_builds_the_desired_state() -> None:
    state = load_config([FIXTURES / "full.yaml"], env=FULL_ENV)
    assert state.stack == "web-platform"
    assert state.prune == {"project", "api_key", "webhook", "member", "bandwidth_alert"}
    assert state.settings == {"secrets": {"sinks": [{"file": "./secrets.json"}]}, "policy": {"max_changes": 5}}
    assert state.resources["tier"].values == {"tier": "pro"}
    assert state.resources["tier"].identity == ()
    assert state.resources["budget"].values == {"period": "monthly", "hard_cap_usd": 500, "alert_threshold_usd": 400}
    web = state.resources["projects.web"]
    assert web.identity == ("web",)
    assert web.values == {"name": "web", "scopes": ["account:read", "keys:write"], "metadata": {"team": "web"},
                          "rate_limit_rpm": 600}
    assert web.meta == {"protect": True}
    assert str(web.source).endswith("full.yaml:9:5")
    key = state.resources["projects.web.keys.ci"]
    assert key.identity == ("web", "ci")
    assert key.values == {"project": "web", "name": "ci", "scopes": ["account:read"]}
    assert key.meta == {"rotate_after": "90d", "grace_hours": 24}
    hook = state.resources['webhooks["https://hooks.example.com/infrai"]']
    assert hook.values["events"] == ["budget.alert", "key.rotated"]
    assert hook.values["secret"] == "s3cret-value-1234"
    assert hook.secret_refs == {"secret": "WEBHOOK_SECRET"}
    assert state.resources['members["ops@example.com"]'].values == {"email": "ops@example.com", "role": "admin"}
    alerts = state.of_kind("bandwidth_alert")
    assert sorted(a.identity for a in alerts) == [(1000,), (10 * 2**30,)]
    assert "s3cret" not in state.config_digest() and len(state.config_digest()) == 64


def test_prune_list_and_default(write) -> None:
    assert load_config([write("a.yaml", "prune: [keys, webhooks]\n")], env={}).prune == {"api_key", "webhook"}
    assert load_config([write("b.yaml", "stack: x\n")], env={}).prune == set()


def test_directory_and_multi_file_merge(write, tmp_path: Path) -> None:
    write("conf/10-projects.yaml", """
        projects:
          - name: web
            keys: [{name: ci}]
    """)
    write("conf/20-more.yml", """
        projects:
          - name: api
        stack: s1
    """)
    write("conf/vars/ignored.yaml", "projects: [{name: nested}]\n")
    write("conf/notes.txt", "not yaml")
    extra = write("extra.yaml", "stack: s1\nmembers: [{email: a@b.co, role: viewer}]\n")
    state = load_config([tmp_path / "conf", extra], env={})
    assert sorted(state.resources) == ["members[\"a@b.co\"]", "projects.api", "projects.web", "projects.web.keys.ci"]
    assert [Path(s).name for s in state.sources] == ["10-projects.yaml", "20-more.yml", "extra.yaml"]
    assert state.stack == "s1"


def test_same_file_twice_is_read_once(write) -> None:
    p = write("a.yaml", "projects: [{name: web}]\n")
    assert len(load_config([p, str(p)], env={}).resources) == 1


# -- one test per error kind: exact file, line, column, path ----------------------------------
def test_unknown_field(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
            scopse: [account:read]
    """))
    assert at(r) == ("a.yaml", 3, 5, "projects[0].scopse")
    assert "unknown field 'scopse'; did you mean 'scopes'?" in r.message
    assert "allowed: name, scopes, metadata, rate_limit_rpm, protect, renamed_from, keys" in r.message


def test_unknown_top_level_key(write) -> None:
    r = one_error(write("a.yaml", "stack: ok\nprojcts: []\n"))
    assert at(r) == ("a.yaml", 2, 1, "projcts")
    assert "did you mean 'projects'?" in r.message


def test_wrong_type(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
            rate_limit_rpm: fast
    """))
    assert at(r) == ("a.yaml", 3, 21, "projects[0].rate_limit_rpm")
    assert r.message == "rate_limit_rpm must be an integer or null, not a string ('fast')"


def test_bad_enum(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
            scopes: [account:read, account:raed]
    """))
    assert at(r) == ("a.yaml", 3, 28, "projects[0].scopes[1]")
    assert r.message.startswith("'account:raed' is not one of: account:read, projects:write, keys:write")


def test_missing_required(write) -> None:
    r = one_error(write("a.yaml", """
        members:
          - email: a@example.com
    """))
    assert at(r) == ("a.yaml", 2, 5, "members[0]")
    assert r.message == "missing required field 'role'"


def test_too_long_name(write) -> None:
    r = one_error(write("a.yaml", f"projects:\n  - name: {'x' * 129}\n"))
    assert at(r) == ("a.yaml", 2, 11, "projects[0].name")
    assert r.message == "name is too long (maximum 128 characters)"


def test_bad_size_string(write) -> None:
    r = one_error(write("a.yaml", """
        bandwidth_alerts:
          - threshold: 10 gigs
    """))
    assert at(r) == ("a.yaml", 2, 16, "bandwidth_alerts[0].threshold")
    assert r.message == "'10 gigs' is not a size: use a number of bytes or e.g. 500MB, 10GiB"


def test_size_that_is_not_whole_bytes_or_too_big(write) -> None:
    r = one_error(write("a.yaml", "bandwidth_alerts:\n  - threshold: 1.5B\n"))
    assert at(r) == ("a.yaml", 2, 16, "bandwidth_alerts[0].threshold")
    assert "not a whole number of bytes" in r.message
    r = one_error(write("b.yaml", "bandwidth_alerts:\n  - threshold: 0GiB\n"))
    assert r.message == "threshold must be at least 1 (got 0)"
    r = one_error(write("c.yaml", "bandwidth_alerts:\n  - threshold: 9PiB\n"))
    assert "must be at most 9007199254740992" in r.message


def test_bad_duration(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
            keys:
              - name: ci
                rotate_after: 3 months
    """))
    assert at(r) == ("a.yaml", 5, 23, "projects[0].keys[0].rotate_after")
    assert r.message == "'3 months' is not a duration: use e.g. 12h, 90d or 2w"


def test_zero_duration(write) -> None:
    r = one_error(write("a.yaml", "projects:\n  - name: web\n    keys: [{name: ci, rotate_after: 0d}]\n"))
    assert at(r)[3] == "projects[0].keys[0].rotate_after"
    assert "at least 1h" in r.message


def test_duplicate_resource_in_one_file(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
          - name: api
          - name: web
    """))
    assert at(r) == ("a.yaml", 4, 5, "projects[2]")
    assert "project projects.web is declared twice" in r.message
    assert "a.yaml:2:5 and at" in r.message and r.message.endswith("a.yaml:4:5")


def test_duplicate_resource_across_files(write) -> None:
    a = write("a.yaml", "webhooks:\n  - {url: 'https://Hooks.example.com:443/x', events: [key.created]}\n")
    b = write("b.yaml", "stack: s\nwebhooks:\n  - {url: 'https://hooks.example.com/x', events: [key.created]}\n")
    r = one_error(a, b)
    assert at(r) == ("b.yaml", 3, 5, "webhooks[0]")
    assert f"at {a}:2:5 and at {b}:3:5" in r.message


@pytest.mark.parametrize("kind_yaml, expected", [
    ("members:\n  - {email: Ops@Example.com, role: admin}\n  - {email: ops@example.com, role: viewer}\n",
     "member members[\"ops@example.com\"] is declared twice"),
    ("bandwidth_alerts:\n  - threshold: 1GiB\n  - threshold: 1073741824\n",
     "bandwidth alert bandwidth_alerts[1073741824] is declared twice"),
    ("projects:\n  - name: web\n    keys: [{name: ci}, {name: ci}]\n",
     "API key projects.web.keys.ci is declared twice"),
])
def test_duplicates_compare_normalised(write, kind_yaml: str, expected: str) -> None:
    assert expected in one_error(write("a.yaml", kind_yaml)).message


def test_duplicate_reported_even_when_the_first_has_other_errors(write) -> None:
    reasons = errors(write("a.yaml", "projects:\n  - {name: web, colour: red}\n  - name: web\n"))
    assert [r.path for r in reasons] == ["projects[0].colour", "projects[1]"]


def test_conflicting_singleton_across_files(write) -> None:
    a = write("a.yaml", "budget: {period: monthly}\ntier: pro\n")
    b = write("b.yaml", "tier: pro\n\nbudget: {period: daily}\n")
    r = one_error(a, b)
    assert at(r) == ("b.yaml", 3, 9, "budget")
    assert f"budget is defined differently at {a}:1:9 and at {b}:3:9" in r.message


def test_conflicting_stack_and_prune(write) -> None:
    a = write("a.yaml", "stack: one\nprune: true\n")
    b = write("b.yaml", "stack: two\nprune: [keys]\n")
    assert [(at(r)[1], r.path) for r in errors(a, b)] == [(1, "stack"), (2, "prune")]


def test_unset_env_var(write) -> None:
    r = one_error(write("a.yaml", """
        webhooks:
          - url: https://h.example.com/
            events: [key.created]
            secret: ${env:WEBHOOK_SECRET}
    """))
    assert at(r) == ("a.yaml", 4, 13, "webhooks[0].secret")
    assert r.message == "${env:WEBHOOK_SECRET} is not set (environment variable WEBHOOK_SECRET)"


def test_undefined_var(write) -> None:
    r = one_error(write("a.yaml", "projects:\n  - name: web-${var:suffix}\n"))
    assert at(r) == ("a.yaml", 2, 11, "projects[0].name")
    assert r.message.startswith("${var:suffix} is not defined")


def test_key_scope_not_in_project_scopes(write) -> None:
    r = one_error(write("a.yaml", """
        projects:
          - name: web
            scopes: [account:read, keys:write]
            keys:
              - name: ci
                scopes: [account:read, billing:write]
    """))
    assert at(r) == ("a.yaml", 6, 32, "projects[0].keys[0].scopes[1]")
    assert "'billing:write' is not among the scopes of project 'web' (account:read, keys:write)" in r.message


def test_key_scopes_free_when_project_lists_none(write) -> None:
    state = load_config([write("a.yaml", "projects:\n  - name: web\n    keys: [{name: ci, scopes: [billing:write]}]\n")],
                        env={})
    assert state.resources["projects.web.keys.ci"].values["scopes"] == ["billing:write"]


def test_pinned_vendor_outside_chain(write) -> None:
    r = one_error(write("a.yaml", "routing:\n  chain_override: [openai]\n  pinned_vendors: [openai, google]\n"))
    assert at(r) == ("a.yaml", 3, 28, "routing.pinned_vendors[1]")
    assert r.message == "'google' is pinned but not in chain_override (openai)"


def test_budget_alert_above_cap(write) -> None:
    r = one_error(write("a.yaml", "budget:\n  hard_cap_usd: 100\n  alert_threshold_usd: 150\n"))
    assert at(r) == ("a.yaml", 3, 24, "budget.alert_threshold_usd")
    assert "above hard_cap_usd" in r.message


@pytest.mark.parametrize("url", ["http://h.example.com/", "https://", "https:///path", "https://u:p@h.example.com/"])
def test_webhook_url_needs_https_and_a_host(write, url: str) -> None:
    r = one_error(write("a.yaml", f"webhooks:\n  - {{url: '{url}', events: [key.created]}}\n"))
    assert r.path == "webhooks[0].url" and "https" in r.message


def test_webhook_headers(write) -> None:
    reasons = errors(write("a.yaml", """
        webhooks:
          - url: https://h.example.com/
            events: [key.created]
            headers: {X-Team: web, Authorization: x, "bad name": y, Webhook-Id: z}
    """))
    assert [r.path for r in reasons] == ['webhooks[0].headers.Authorization', 'webhooks[0].headers["bad name"]',
                                         'webhooks[0].headers.Webhook-Id']


def test_version_and_stack_and_prune_values(write) -> None:
    reasons = errors(write("a.yaml", "version: 2\nstack: Web_Platform\nprune: [projects, tiers]\n"))
    assert [(at(r)[1:], r.message) for r in reasons] == [
        ((1, 10, "version"), "version must be 1, not '2'"),
        ((2, 8, "stack"), "'Web_Platform' is not a stack name: use 1 to 40 characters among a-z, 0-9 and -"),
        ((3, 19, "prune[1]"), "'tiers' is not one of: projects, keys, webhooks, members, bandwidth_alerts"),
    ]


def test_prune_of_the_wrong_type(write) -> None:
    r = one_error(write("a.yaml", "prune: yes please\n"))
    assert r.path == "prune" and r.message.startswith("prune must be boolean or list of one of")


def test_tier_is_a_scalar(write) -> None:
    r = one_error(write("a.yaml", "tier: platinum\n"))
    assert at(r) == ("a.yaml", 1, 7, "tier")
    assert r.message.startswith("'platinum' is not one of: standard, pro, team, enterprise")


def test_metadata_key_too_long(write) -> None:
    r = one_error(write("a.yaml", f"projects:\n  - name: web\n    metadata: {{{'k' * 65}: v}}\n"))
    assert at(r) == ("a.yaml", 3, 16, f"projects[0].metadata.{'k' * 65}")
    assert "is too long (maximum 64 characters)" in r.message


def test_all_errors_of_all_files_sorted(write) -> None:
    a = write("a.yaml", "tier: gold\nprojects:\n  - name: ''\n")
    b = write("b.yaml", "- not a mapping\n")
    c = write("c.yaml", "members: [{email: nope, role: admin}]\n")
    reasons = errors(a, b, c)
    assert [at(r)[:2] for r in reasons] == [("a.yaml", 1), ("a.yaml", 3), ("b.yaml", 1), ("c.yaml", 1)]
    assert validate_only([a, b, c], env={}) == reasons
    assert validate_only([FIXTURES / "full.yaml"], env=FULL_ENV) == []


# -- secrets --------------------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["Zq9!x", "Zq" * 150, "Zq \u00e4'q'", "Zq9${form}secret", "Zq9${env:NOPE"])
def test_sensitive_value_never_in_messages(write, secret: str) -> None:
    p = write("a.yaml", f"webhooks:\n  - url: https://h.example.com/\n    events: [key.created]\n    secret: \"{secret}\"\n")
    reasons = errors(p)
    assert reasons and reasons[0].path == "webhooks[0].secret"
    text = "\n".join(str(r) for r in reasons)
    assert "Zq" not in text


def test_sensitive_value_from_env_never_in_messages(write) -> None:
    p = write("a.yaml", "webhooks:\n  - url: https://h.example.com/\n    events: [key.created]\n    secret: ${env:S}\n")
    with pytest.raises(ValidationError) as info:
        load_config([p], env={"S": "tiny"})
    assert "tiny" not in str(info.value)
    assert info.value.reasons[0].message == "secret is too short (minimum 8 characters)"


def test_sensitive_wrong_type_not_echoed(write) -> None:
    r = one_error(write("a.yaml", "webhooks:\n  - {url: 'https://h.example.com/', events: [key.created], secret: 12345678}\n"))
    assert r.message == "secret must be a string, not an integer"


# -- fixtures and examples validate -----------------------------------------------------------
def test_merge_fixtures() -> None:
    state = load_config([FIXTURES / "merge_a.yaml", FIXTURES / "merge_b.yaml"], env={})
    assert sorted(state.resources) == ["members[\"dev@example.com\"]", "projects.api", "projects.api.keys.deploy",
                                       "projects.web", "tier"]


def _examples() -> list[Path]:
    """Each example directory (its files merge) and each YAML file directly in examples/."""
    if not EXAMPLES.is_dir():
        return []
    # ci/ holds GitHub workflows and environments/ needs --var-file: tests/e2e/test_gitops_* check them;
    # policy/ is a --policy file, not a configuration (tests/e2e/test_policy_gates.py loads it).
    return sorted(p for p in EXAMPLES.iterdir() if (p.is_dir() and p.name not in ("ci", "environments", "policy"))
                  or p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("example", _examples(), ids=lambda p: p.name)
def test_examples_validate(example: Path) -> None:
    reasons = validate_only([example], env={})
    # Examples may need variables the reader exports; every other problem counts.
    assert [str(r) for r in reasons if "is not set (environment variable" not in r.message] == []
