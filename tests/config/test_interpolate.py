"""${env:...} and ${var:...}: typing, defaults, escapes, var file precedence, errors."""

from __future__ import annotations

from reconcile.config import load_config

from .conftest import at, one_error


def test_env_value_typed_by_the_field_schema(write) -> None:
    p = write("a.yaml", """
        projects:
          - name: ${env:NAME}
            rate_limit_rpm: ${env:RPM}
            metadata: {owner: "${env:RPM}"}
    """)
    (web,) = load_config([p], env={"NAME": "600", "RPM": "600"}).of_kind("project")
    # name is a string field: "600" stays text; rate_limit_rpm is not: 600 is an int.
    assert web.values == {"name": "600", "rate_limit_rpm": 600, "metadata": {"owner": "600"}}


def test_env_value_that_is_not_a_number_is_a_type_error(write) -> None:
    p = write("a.yaml", "projects:\n  - {name: web, rate_limit_rpm: '${env:RPM}'}\n")
    r = one_error(p, env={"RPM": "lots"})
    assert at(r) == ("a.yaml", 2, 33, "projects[0].rate_limit_rpm")
    assert "must be an integer or null, not a string ('lots')" in r.message


def test_env_default_and_embedding(write) -> None:
    p = write("a.yaml", """
        projects:
          - name: web-${env:ENV:-dev}
            metadata: {a: "${env:EMPTY:-fallback}", b: "${env:SET:-unused}", c: "x${env:SET}y"}
            rate_limit_rpm: ${env:RPM:-120}
    """)
    web = load_config([p], env={"EMPTY": "", "SET": "val"}).resources["projects.web-dev"]
    assert web.values["metadata"] == {"a": "fallback", "b": "val", "c": "xvaly"}
    assert web.values["rate_limit_rpm"] == 120


def test_escape_keeps_a_literal(write) -> None:
    p = write("a.yaml", "projects:\n  - {name: web, metadata: {tpl: '$${env:X} and $${var:Y}'}}\n")
    state = load_config([p], env={})
    assert state.resources["projects.web"].values["metadata"] == {"tpl": "${env:X} and ${var:Y}"}


def test_var_keeps_its_type(write) -> None:
    p = write("a.yaml", """
        projects:
          - name: ${var:project}
            scopes: ${var:scopes}
            rate_limit_rpm: ${var:rpm}
            metadata: {label: "rpm=${var:rpm}, on=${var:on}"}
    """)
    state = load_config([p], env={}, variables={"project": "web", "scopes": ["keys:write", "account:read"],
                                                "rpm": 300, "on": True})
    assert state.resources["projects.web"].values == {
        "name": "web", "scopes": ["account:read", "keys:write"], "rate_limit_rpm": 300,
        "metadata": {"label": "rpm=300, on=true"}}


def test_var_files_precedence(write) -> None:
    first = write("vars/one.yaml", "name: from-one\nrpm: 10\nteam: one\n")
    second = write("vars/two.yaml", "rpm: 20\nteam: two\n")
    p = write("a.yaml", "projects:\n  - {name: '${var:name}', rate_limit_rpm: '${var:rpm}', metadata: {t: '${var:team}'}}\n")
    state = load_config([p], env={}, var_files=[first, second], variables={"team": "cli"})
    assert state.resources["projects.from-one"].values == {
        "name": "from-one", "rate_limit_rpm": 20, "metadata": {"t": "cli"}}


def test_var_file_errors_are_located(write) -> None:
    bad = write("vars.yaml", "- a\n")
    r = one_error(write("a.yaml", "stack: s\n"), var_files=[bad])
    assert at(r) == ("vars.yaml", 1, 1, "") and "var file must be a mapping" in r.message


def test_list_var_inside_text_is_an_error(write) -> None:
    r = one_error(write("a.yaml", "projects:\n  - name: 'web-${var:l}'\n"), variables={"l": [1]})
    assert at(r) == ("a.yaml", 2, 11, "projects[0].name")
    assert "only be used as the whole value" in r.message


def test_malformed_references(write) -> None:
    r = one_error(write("a.yaml", "projects:\n  - name: '${home}'\n"))
    assert at(r) == ("a.yaml", 2, 11, "projects[0].name")
    assert r.message.startswith("'${home}' is not a valid reference: use ${env:NAME}")
    r = one_error(write("b.yaml", "projects:\n  - name: 'a${env:X'\n"))
    assert "unclosed '${'" in r.message


def test_secret_refs_recorded_for_sensitive_fields_only(write) -> None:
    p = write("a.yaml", """
        webhooks:
          - url: https://h.example.com/${env:HOOK_PATH}
            events: [key.created]
            description: ${env:DESC}
            secret: ${env:HOOK_SECRET}
          - url: https://h2.example.com/
            events: [key.created]
            secret: literal-secret-value
    """)
    state = load_config([p], env={"HOOK_PATH": "p", "DESC": "d", "HOOK_SECRET": "abcdefgh12"})
    first, second = state.of_kind("webhook")
    assert first.secret_refs == {"secret": "HOOK_SECRET"}
    assert first.values["url"] == "https://h.example.com/p"
    assert second.secret_refs == {}


def test_env_defaults_to_os_environ(write, monkeypatch) -> None:
    monkeypatch.setenv("INFRAI_TEST_STACK", "from-os")
    assert load_config([write("a.yaml", "stack: ${env:INFRAI_TEST_STACK}\n")]).stack == "from-os"


def test_values_are_not_interpolated_twice(write) -> None:
    p = write("a.yaml", "projects:\n  - {name: web, metadata: {a: '${env:A}'}}\n")
    state = load_config([p], env={"A": "${env:B}"})
    assert state.resources["projects.web"].values["metadata"] == {"a": "${env:B}"}
