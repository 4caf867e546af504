"""Plans cite their source (issue #16 §1): through the real CLI, over HTTP against the
emulator, for a base + overlay + var-file environment — text `file:line`, the markdown plan's
links at the pull request's head commit (GitHub Actions, GitLab CI), the JSON plan's and the
event stream's `source`, warnings attached to those lines, lists diffed per element, and
deletes citing the commit that last declared them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from e2e_support import EXAMPLES

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
HEAD = "1111111111111111111111111111111111111111"   # the PR's head commit
MERGE = "2222222222222222222222222222222222222222"  # GITHUB_SHA of a pull_request event
LINK = re.compile(r"\[`([^`]*)`\]\((https://github\.example\.com/acme/infra/blob/[^)]*)\)")


@pytest.fixture
def env_repo(tmp_path: Path) -> Path:
    """examples/environments copied into the test's working directory (the repository root)."""
    shutil.copytree(EXAMPLES / "environments", tmp_path / "environments")
    return tmp_path / "environments"


@pytest.fixture
def http(http_emulator) -> dict[str, str]:
    url, key, _ = http_emulator
    return {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRIES": "0"}


def _prod(env_repo: Path) -> list[str]:
    return ["environments/base", "environments/envs/prod/resources", "--var-file", "environments/envs/prod/vars.yaml"]


def _dev_applied(run_cli, http: dict[str, str]) -> None:
    done = run_cli("apply", "environments/base", "--var-file", "environments/envs/dev/vars.yaml", "--auto-approve",
                   env=http)
    assert done.exit_code == 0, done.output


def _line(path: Path, n: int) -> str:
    return path.read_text().splitlines()[n - 1]


def test_markdown_plan_links_each_change_to_its_line_at_the_pr_head(run_cli, http, env_repo, tmp_path):
    _dev_applied(run_cli, http)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    gh = {**http, "GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_REPOSITORY": "acme/infra",
          "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": MERGE,
          "GITHUB_WORKSPACE": str(tmp_path)}
    result = run_cli("plan", *_prod(env_repo), "--format", "markdown", env=gh)
    assert result.exit_code == 0, result.output
    links = LINK.findall(result.stdout)
    assert links and MERGE not in result.stdout
    for shown, url in links:
        m = re.fullmatch(rf"https://github\.example\.com/acme/infra/blob/{HEAD}/([^#]+)#L(\d+)(?:-L(\d+))?", url)
        assert m, url
        # Every link opens the file it names, at a line that exists.
        path, first = tmp_path / m.group(1), int(m.group(2))
        assert path.is_file() and first <= len(path.read_text().splitlines())
        if shown.startswith(m.group(1)):
            assert shown == f"{m.group(1)}:{first}"
    by_text = {shown: url for shown, url in links}
    base = tmp_path / "environments/base/infrai.yaml"
    prod_vars = tmp_path / "environments/envs/prod/vars.yaml"
    overlay = tmp_path / "environments/envs/prod/resources/prod-only.yaml"

    def target(url: str) -> tuple[Path, int, int | None]:
        m = re.search(rf"/blob/{HEAD}/([^#]+)#L(\d+)(?:-L(\d+))?$", url)
        assert m
        return tmp_path / m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None

    # projects.web (base): its span starts at `- name: web` and ends at its last line.
    web = re.search(r"- `projects\.web` \(update\): \[`[^`]*`\]\(([^)]*)\) \(base\)", result.stdout)
    assert web, result.stdout
    path, first, last = target(web.group(1))
    assert path == base and _line(base, first).strip() == "- name: web" and last is not None
    assert _line(base, last).strip() == "rotate_after: ${var:key_rotate_after}"
    # The field the value goes into, and the var file line that set it.
    rpm = re.search(r"- `rate_limit_rpm` at \[`line (\d+)`\]\(([^)]*)\): `\$\{var:web_rate_limit_rpm\}` from var file "
                    r"\[`([^`]*)`\]\(([^)]*)\)", result.stdout)
    assert rpm, result.stdout
    path, first, _ = target(rpm.group(2))
    assert path == base and _line(base, first).strip() == "rate_limit_rpm: ${var:web_rate_limit_rpm}"
    path, first, _ = target(rpm.group(4))
    assert path == prod_vars and _line(prod_vars, first) == "web_rate_limit_rpm: 6000"
    # An overlay's resource links into the overlay file.
    analytics = re.search(r"- `projects\.analytics` \(create\): \[`[^`]*`\]\(([^)]*)\) \(overlay\)", result.stdout)
    assert analytics
    path, first, _ = target(analytics.group(1))
    assert path == overlay and _line(overlay, first).strip() == "- name: analytics"
    assert "environments/envs/prod/resources/prod-only.yaml:7" in by_text


def test_links_use_github_sha_outside_a_pull_request_and_gitlab_s_variables(run_cli, http, env_repo, tmp_path):
    _dev_applied(run_cli, http)
    push = run_cli("plan", *_prod(env_repo), "--format", "markdown",
                   env={**http, "GITHUB_REPOSITORY": "acme/infra", "GITHUB_SHA": MERGE, "GITHUB_EVENT_NAME": "push",
                        "GITHUB_WORKSPACE": str(tmp_path)})
    assert f"https://github.com/acme/infra/blob/{MERGE}/environments/base/infrai.yaml#L15-L23" in push.stdout
    gitlab = run_cli("plan", *_prod(env_repo), "--format", "markdown",
                     env={**http, "GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.example.com/acme/infra",
                          "CI_COMMIT_SHA": HEAD, "CI_PROJECT_DIR": str(tmp_path)})
    assert f"https://gitlab.example.com/acme/infra/-/blob/{HEAD}/environments/base/infrai.yaml#L15-23" in gitlab.stdout
    plain = run_cli("plan", *_prod(env_repo), "--format", "markdown", env=http)
    assert "](http" not in plain.stdout and "`environments/base/infrai.yaml:15` (base)" in plain.stdout


def test_text_plan_shows_file_line_and_where_each_value_came_from(run_cli, http, env_repo):
    _dev_applied(run_cli, http)
    result = run_cli("plan", *_prod(env_repo), "--no-color", "--var", "env=staging", env=http)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "  ~ projects.web  update  — environments/base/infrai.yaml:15 (base)" in out
    assert ("rate_limit_rpm : 60 → 6000   (line 17, ${var:web_rate_limit_rpm} from var file "
            "environments/envs/prod/vars.yaml:5)") in out
    assert 'metadata.env   : "dev" → "staging"   (line 18, ${var:env} from --var)' in out
    assert "  + projects.analytics  create  — environments/envs/prod/resources/prod-only.yaml:7 (overlay)" in out
    assert ('url    = "https://hooks.example.com/infrai"   (${var:alerts_webhook_url} from var file '
            "environments/envs/prod/vars.yaml:7)") in out


def test_json_plan_and_events_carry_source(run_cli, http, env_repo, monkeypatch):
    _dev_applied(run_cli, http)
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/infrai")
    base = env_repo / "base/infrai.yaml"
    base.write_text(base.read_text().replace("- url: ${var:alerts_webhook_url}", "- url: ${env:HOOK_URL}"))
    result = run_cli("plan", *_prod(env_repo), "--format", "json", env={**http, "HOOK_URL": "https://hooks.example.com/infrai"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    changes = {c["address"]: c for c in doc["changes"]}
    web = changes["projects.web"]["source"]
    assert {k: web[k] for k in ("file", "line", "column", "end_line", "layer")} == {
        "file": "environments/base/infrai.yaml", "line": 15, "column": 5, "end_line": 23, "layer": "base"}
    assert web["fields"]["rate_limit_rpm"] == {
        "line": 17, "column": 5, "origin": "var_file", "variable": "web_rate_limit_rpm",
        "defined_at": {"file": "environments/envs/prod/vars.yaml", "line": 5}}
    assert changes["projects.analytics"]["source"]["layer"] == "overlay"
    hook = changes['webhooks["https://hooks.example.com/infrai"]']["source"]["fields"]["url"]
    assert hook == {"line": 26, "column": 5, "origin": "env", "variable": "HOOK_URL"}
    assert changes["members[\"oncall@example.com\"]"]["source"]["fields"]["role"]["origin"] == "overlay"

    events = run_cli("plan", *_prod(env_repo), "--json", env={**http, "HOOK_URL": "https://hooks.example.com/infrai"})
    planned = [json.loads(line) for line in events.stdout.splitlines() if '"planned_change"' in line]
    web_event = next(m for m in planned if m["change"]["resource"]["addr"] == "projects.web")
    assert web_event["change"]["source"]["line"] == 15 and web_event["change"]["source"]["end_line"] == 23


def test_list_fields_diff_per_element(run_cli, http, env_repo):
    _dev_applied(run_cli, http)
    base = env_repo / "base/infrai.yaml"
    base.write_text(base.read_text().replace("scopes: [account:read, keys:write]", "scopes: [account:read, webhooks:write]"))
    text = run_cli("plan", "environments/base", "--var-file", "environments/envs/dev/vars.yaml", "--no-color", env=http)
    assert "      scopes : + webhooks:write, − keys:write   (line 16)" in text.stdout
    assert '["account:read", "keys:write"] →' not in text.stdout
    markdown = run_cli("plan", "environments/base", "--var-file", "environments/envs/dev/vars.yaml", "--format",
                       "markdown", env=http)
    assert "!     scopes: + webhooks:write, − keys:write" in markdown.stdout
    doc = json.loads(run_cli("plan", "environments/base", "--var-file", "environments/envs/dev/vars.yaml", "--format",
                             "json", env=http).stdout)
    jsonschema.validate(doc, SCHEMA)
    diff = next(d for c in doc["changes"] for d in c["diffs"] if d["path"] == "scopes")
    assert diff == {"path": "scopes", "before": ["account:read", "keys:write"], "after": ["account:read", "webhooks:write"],
                    "added": ["webhooks:write"], "removed": ["keys:write"]}


# -- deletes cite what is missing --------------------------------------------------------------
CONFIG = """version: 1
projects:
  - name: web
  - name: legacy
    scopes: [account:read]
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_delete_cites_the_file_and_last_commit_that_declared_it(run_cli, http, tmp_path):
    (tmp_path / "infra").mkdir()
    config = tmp_path / "infra" / "infrai.yaml"
    config.write_text(CONFIG)
    assert run_cli("apply", "infra", "--auto-approve", env=http).exit_code == 0
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "infra")
    _git(tmp_path, "commit", "-qm", "Declare web and legacy")
    declared = _git(tmp_path, "rev-parse", "HEAD")
    config.write_text(CONFIG.split("  - name: legacy")[0])

    # Removed in the working tree only: the last commit still declares it.
    pending = run_cli("plan", "infra", "--prune", "projects", "--no-color", env=http)
    assert (f"  - projects.legacy  delete (not declared and pruning is on)  — last declared in infra/infrai.yaml at "
            f'{declared[:12]} "Declare web and legacy", removal not committed yet') in pending.stdout

    _git(tmp_path, "commit", "-qam", "Drop legacy")
    removed = _git(tmp_path, "rev-parse", "HEAD")
    gh = {**http, "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/infra", "GITHUB_SHA": removed,
          "GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_WORKSPACE": str(tmp_path),
          "GITHUB_EVENT_NAME": "push"}
    text = run_cli("plan", "infra", "--prune", "projects", "--no-color", env=gh)
    assert (f"last declared in infra/infrai.yaml at {declared[:12]} \"Declare web and legacy\", removed in "
            f"{removed[:12]}") in text.stdout
    # The delete's warning is attached to the file that declared it.
    assert ("::warning file=infra/infrai.yaml,title=infrai plan%3A delete::projects.legacy will be deleted "
            "(not declared and pruning is on)") in text.stderr
    doc = json.loads(run_cli("plan", "infra", "--prune", "projects", "--format", "json", env=http).stdout)
    jsonschema.validate(doc, SCHEMA)
    legacy = next(c for c in doc["changes"] if c["address"] == "projects.legacy")
    assert legacy["source"] is None
    assert legacy["last_declared"] == {"file": "infra/infrai.yaml", "commit": declared, "date": legacy["last_declared"]["date"],
                                       "subject": "Declare web and legacy", "removed_in": removed}
    markdown = run_cli("plan", "infra", "--prune", "projects", "--format", "markdown", env=gh).stdout
    assert (f"- `projects.legacy` (delete): last declared in [`infra/infrai.yaml`](https://github.example.com/acme/infra/"
            f"blob/{declared}/infra/infrai.yaml) at [`{declared[:12]}`](https://github.example.com/acme/infra/commit/"
            f"{declared}) (Declare web and legacy), removed in [`{removed[:12]}`](https://github.example.com/acme/infra/"
            f"commit/{removed})") in markdown


def test_a_delete_outside_git_is_not_declared_in_any_config_file(run_cli, http, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "infrai.yaml").write_text(CONFIG)
    assert run_cli("apply", "infra", "--auto-approve", env=http).exit_code == 0
    (tmp_path / "infra" / "infrai.yaml").write_text(CONFIG.split("  - name: legacy")[0])
    text = run_cli("plan", "infra", "--prune", "projects", "--no-color", env=http)
    assert "  - projects.legacy  delete (not declared and pruning is on)  — not declared in any config file" in text.stdout


def test_warnings_for_changes_and_impacts_attach_to_their_lines():
    from reconcile.cli.ci.github import plan_annotations
    from reconcile.render.common import SourceLinks

    source = {"file": "base/infrai.yaml", "line": 10, "column": 3, "end_line": 12}
    doc = {"changes": [{"address": "projects.api", "action": "replace", "reasons": ["x"], "source": source}],
           "impacts": [{"severity": "danger", "address": "budget", "rule": "cap", "message": "m", "source": source}]}
    links = SourceLinks("https://github.com/o/r", HEAD, prefix="infra")
    lines = plan_annotations(doc, links=links)
    assert lines[0] == ("::warning file=infra/base/infrai.yaml,line=10,endLine=12,title=infrai plan%3A replace::"
                        "projects.api will be replaced (x)")
    assert lines[1] == "::warning file=infra/base/infrai.yaml,line=10,endLine=12,title=infrai impact%3A danger::budget: m"


def test_a_policy_violation_cites_the_line_of_its_change(run_cli, http, tmp_path):
    (tmp_path / "infra").mkdir()
    config = tmp_path / "infra" / "infrai.yaml"
    config.write_text("version: 1\nbudget:\n  period: monthly\n  hard_cap_usd: 100\n")
    assert run_cli("apply", "infra", "--auto-approve", env=http).exit_code == 0
    config.write_text("version: 1\nbudget:\n  period: monthly\n  hard_cap_usd: 500\n")
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  max_budget_increase_percent: 50\n")
    result = run_cli("plan", "infra", "--policy", "policy.yaml", "--no-color", env=http)
    assert result.exit_code == 3
    assert ("[max_budget_increase_percent] budget: hard_cap_usd $100.00 → $500.00 is +400.0%; the policy allows +50% "
            "(infra/infrai.yaml:3)") in result.stderr
