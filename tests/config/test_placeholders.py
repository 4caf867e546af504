"""Offline validation: references without a value are checked as placeholders of the
field's type; `--require-vars` (and plan/apply) require them."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli.main import cli
from reconcile.config import check_config

from .conftest import at

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "examples" / "environments"


def _check(path: Path, **kwargs):
    kwargs.setdefault("env", {})
    return check_config([path], **kwargs)


def test_placeholders_take_any_value_of_the_fields_type(write) -> None:
    p = write("a.yaml", """
        tier: ${var:tier}
        budget: {period: monthly, hard_cap_usd: "${var:cap}", alert_threshold_usd: 10}
        projects:
          - name: web
            rate_limit_rpm: ${env:RPM}
            scopes: ["${var:scope}", account:read]
            metadata: ${var:metadata}
            keys:
              - {name: ci, scopes: ["${var:scope}"], rotate_after: "${var:rotation}"}
        webhooks:
          - url: ${var:hook_url}
            events: [budget.alert]
            secret: ${env:HOOK_SECRET}
    """)
    checked = _check(p)
    assert checked.reasons == []
    assert sorted(ref for ref, _ in checked.unresolved) == [
        "${env:HOOK_SECRET}", "${env:RPM}", "${var:cap}", "${var:hook_url}", "${var:metadata}", "${var:rotation}",
        "${var:scope}", "${var:scope}", "${var:tier}"]
    where = {ref: (src.line, src.column) for ref, src in checked.unresolved}
    assert where["${env:RPM}"] == (5, 21)
    assert sorted(checked.state.resources) == ["budget", "projects.web", "projects.web.keys.ci", "tier",
                                               'webhooks["${var:hook_url}"]']
    # A value left as a placeholder is not in the state (it is unknown): never plan from it.
    assert "rate_limit_rpm" not in checked.state.resources["projects.web"].values


def test_what_is_known_is_still_checked(write) -> None:
    p = write("a.yaml", """
        projects:
          - name: web
            rate_limit_rpm: ${env:RPM:-lots}
            unknown: ${var:x}
          - name: api
            scopes: [account:read]
            keys:
              - {name: ci, scopes: [keys:write], rotate_after: "${var:rotation}"}
        webhooks:
          - {url: "${var:hook}", events: [budget.alert]}
          - {url: "${var:hook}", events: [budget.alert]}
          - {url: "https://h.example.com/${var:path", events: [budget.alert]}
    """)
    reasons = _check(p).reasons
    assert [(at(r), r.message) for r in reasons] == [
        (("a.yaml", 3, 21, "projects[0].rate_limit_rpm"),
         "rate_limit_rpm must be an integer or null, not a string ('lots')"),
        (("a.yaml", 4, 5, "projects[0].unknown"),
         "unknown field 'unknown' (allowed: name, scopes, metadata, rate_limit_rpm, protect, renamed_from, keys)"),
        (("a.yaml", 8, 29, "projects[1].keys[0].scopes[0]"),
         "'keys:write' is not among the scopes of project 'api' (account:read); add it there or drop it here"),
        (("a.yaml", 11, 5, "webhooks[1]"),
         'webhook webhooks["${var:hook}"] is declared twice: at ' + f"{p}:10:5 and at {p}:11:5"),
        (("a.yaml", 12, 11, "webhooks[2].url"),
         "an unclosed '${' in this value: use ${env:NAME}, ${env:NAME:-default} or ${var:NAME}, and $${ for a "
         "literal ${"),
    ]


def test_without_placeholders_a_missing_value_is_an_error(write) -> None:
    p = write("a.yaml", "projects:\n  - {name: web, rate_limit_rpm: '${var:rpm}'}\n")
    checked = _check(p, placeholders=False)
    assert [r.message for r in checked.reasons] == [
        "${var:rpm} is not defined (pass it as a variable or in a var file)"]
    assert checked.unresolved == []
    assert _check(p, variables={"rpm": 60}).state.resources["projects.web"].values["rate_limit_rpm"] == 60


def test_environments_layout_validates_offline_and_plan_still_needs_its_values(tmp_path: Path) -> None:
    shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    runner = CliRunner()
    base = str(tmp_path / "environments" / "base")
    prod = str(tmp_path / "environments" / "envs" / "prod" / "resources")
    dev_vars = str(tmp_path / "environments" / "envs" / "dev" / "vars.yaml")
    result = runner.invoke(cli, ["validate", base, prod], env={"INFRAI_VALIDATE_REQUIRE_VARS": None})
    assert result.exit_code == 0, result.output
    assert "Configuration is valid: 7 resources in 2 file(s)." in result.stdout
    assert "6 value(s) use a reference without a value here" in result.stderr
    assert "--require-vars" in result.stderr

    assert runner.invoke(cli, ["validate", base, "--var-file", dev_vars]).stderr == ""

    for args, env in ((["validate", base, "--require-vars"], {}),
                      (["validate", base], {"INFRAI_VALIDATE_REQUIRE_VARS": "1"}),
                      (["plan", base, "--local", str(tmp_path / "dev.db")], {})):
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert "budget.hard_cap_usd: ${var:budget_cap_usd} is not defined" in result.stderr, args
