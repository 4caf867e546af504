"""The config schema: derived from the registry, valid draft 2020-12, committed files current."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest

from reconcile.config import schema as config_schema
from tools import config_schema as generator
from reconcile.config.schema import build_schema, schema_text
from tools.config_schema import DOCS_PATH, SCHEMA_PATH, render_docs
from reconcile.kinds import KINDS, REGISTRY, Field, KindSpec, Meta
from reconcile.kinds.base import Endpoint, KindApi


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "schemas/config.schema.json is stale: run python -m tools.config_schema"


def test_committed_reference_doc_is_current() -> None:
    assert DOCS_PATH.read_text(encoding="utf-8") == render_docs(), \
        "docs/config-reference.md is stale: run python -m tools.config_schema --docs"


def test_check_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert generator.main(["--check"]) == 0


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = build_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(jsonschema.validators.validator_for(schema).META_SCHEMA)


def _objects(node: object) -> list[dict]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append(node)
        for v in node.values():
            found += _objects(v)
    elif isinstance(node, list):
        for v in node:
            found += _objects(v)
    return found


def test_every_owned_object_is_closed_and_described() -> None:
    schema = build_schema()
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj.get("description")


def test_derived_from_the_registry() -> None:
    schema = build_schema()
    props, defs = schema["properties"], schema["$defs"]
    assert props["tier"]["enum"] == ["standard", "pro", "team", "enterprise"]
    assert "failover_policy" not in props["routing"]["properties"]  # computed
    project = defs["project"]
    assert project["required"] == ["name"]
    assert "created_at" not in project["properties"]
    assert project["properties"]["keys"]["items"] == {"$ref": "#/$defs/api_key"}
    assert "keys" not in props  # nested only
    key = defs["api_key"]
    assert "project" not in key["properties"]  # implied by nesting
    assert set(key["properties"]) == {"name", "scopes", "protect", "renamed_from", "rotate_after", "grace_hours"}
    alert = defs["bandwidth_alert"]
    assert "threshold" in alert["properties"] and "threshold_bytes" not in alert["properties"]
    assert alert["required"] == ["threshold"]
    assert defs["webhook"]["properties"]["secret"]["description"] == REGISTRY["webhook"].fields["secret"].description
    assert props["prune"]["anyOf"][1]["items"]["enum"] == ["projects", "keys", "webhooks", "members", "bandwidth_alerts"]


def test_a_new_kind_needs_no_config_code() -> None:
    label = KindSpec(
        name="label", title="label", config_key="labels", identity=("project", "key"), parent="project",
        description="A label of a project.",
        fields={"project": Field({"type": "string"}, required=True), "key": Field({"type": "string"}, required=True),
                "colour": Field({"type": "string"}, description="Its colour.")},
        meta={"protect": Meta({"type": "boolean"}, "Protect it.")},
        api=KindApi(list=Endpoint("GET", "/x"), create=Endpoint("POST", "/x")))
    quota = dataclasses.replace(REGISTRY["budget"], name="quota", config_key="quota", description="A quota.")
    schema = build_schema(KINDS + (label, quota))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["project"]["properties"]["labels"]["items"] == {"$ref": "#/$defs/label"}
    assert schema["$defs"]["label"]["required"] == ["key"]
    assert "quota" in schema["properties"] and "labels" in schema["properties"]["prune"]["anyOf"][1]["items"]["enum"]
    assert "## `label` items" in render_docs(schema)


# -- the published (editor) variant --------------------------------------------------------
EXAMPLES = SCHEMA_PATH.parents[1] / "examples"
# Config files among the examples (var files and policies have other shapes).
EXAMPLE_CONFIGS = sorted(p for p in EXAMPLES.rglob("*.yaml")
                         if p.name != "vars.yaml" and p.parent.name not in ("policy", "ci"))
EDITOR = jsonschema.Draft202012Validator(build_schema(editor=True))


def test_the_editor_schema_is_valid_and_the_loader_keeps_the_strict_one() -> None:
    jsonschema.Draft202012Validator.check_schema(build_schema(editor=True))
    strict = build_schema()
    assert "reference" not in strict["$defs"]
    assert strict["properties"]["budget"]["properties"]["hard_cap_usd"]["type"] == ["number", "null"]
    assert render_docs() == render_docs(strict)  # the reference tables are the strict types


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_validate_in_an_editor_as_written(path) -> None:
    import yaml

    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), path
    assert (path.parent / first.split("$schema=", 1)[1]).resolve() == SCHEMA_PATH
    errors = [e.message for e in EDITOR.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert errors == [], path


@pytest.mark.parametrize("doc,valid", [
    ({"budget": {"hard_cap_usd": "${var:cap}"}}, True),
    ({"budget": {"hard_cap_usd": "${env:CAP:-500}"}}, True),
    ({"budget": {"hard_cap_usd": "lots"}}, False),
    ({"budget": {"hard_cap_usd": "${var:cap} USD"}}, False),  # a number is one whole reference
    ({"budget": {"hard_cap_usd": "${nope:cap}"}}, False),
    ({"tier": "${var:tier}"}, True), ({"tier": "gold"}, False),
    ({"stack": "${var:stack}"}, True),
    ({"projects": [{"name": "web", "scopes": "${var:scopes}", "rate_limit_rpm": "${env:RPM}"}]}, True),
    ({"projects": [{"name": "web", "keys": [{"name": "ci", "rotate_after": "${var:rotation}"}]}]}, True),
    ({"projects": [{"name": "web", "keys": [{"name": "ci", "rotate_after": "soon"}]}]}, False),
    ({"webhooks": [{"url": "https://${var:host}/hooks", "events": ["budget.alert"]}]}, True),
    ({"webhooks": [{"url": "http://h.example.com/", "events": ["budget.alert"]}]}, False),
    ({"projects": [{"name": "web", "bogus": "${var:x}"}]}, False),
])
def test_editor_schema_accepts_references_where_values_may_be_templated(doc, valid) -> None:
    assert EDITOR.is_valid(doc) is valid


def test_the_schema_ships_in_the_package() -> None:
    import fnmatch
    import tomllib
    from importlib import resources

    pyproject = tomllib.loads((SCHEMA_PATH.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["reconcile"]
    assert any(fnmatch.fnmatch("data/config.schema.json", p) for p in patterns)
    packaged = resources.files("reconcile").joinpath("data", "config.schema.json")
    assert packaged.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()
    assert str(config_schema.PACKAGED_SCHEMA_PATH).endswith("reconcile/data/config.schema.json")
