"""`reconcile.api` is semantic-versioned (docs/python-api.md): within major version 1 no
public name disappears, and the documented parameters and fields stay. This list is the
contract as published; a name may be added here, never removed without a new major version
(and `API_VERSION` saying so)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from reconcile import api

PUBLIC_V1 = {
    "API_VERSION", "load", "connect", "plan", "apply", "adopt", "export", "load_plan",
    "RunOptions", "DEFAULT_PARALLELISM", "PlanRequest", "PlanOutcome", "ApplyRequest", "ApplyResult", "SavedPlan",
    "WorkflowEvent", "Note", "PlanReady", "StepsStarting", "StepsFinished", "ApplyEvent",
    "ApplyReport", "StepResult", "StepStatus",
    "Plan", "Change", "Action", "DesiredState", "LiveState",
    "Secret", "SecretSink", "FileSink", "ExecSink",
    "ReconcileError", "UsageError", "ConfigError", "ValidationError", "ApiError", "UnsafePlan", "PolicyViolation",
    "ImpactAboveThreshold", "StalePlan", "PlanFileError", "LeaseHeld", "ApplyError", "ApplyInterrupted",
}

# Parameters a caller may pass by name.
SIGNATURES = {
    "load": {"paths", "variables", "var_files"},
    "connect": {"base_url", "api_key", "options", "http", "on_retry"},
    "plan": {"client", "request", "on_event"},
    "apply": {"client", "request", "on_event", "confirm", "secrets", "cancel"},
    "adopt": {"client", "addresses", "stack", "parallelism", "journal_path", "on_note", "on_event", "cancel"},
    "export": {"client", "kinds", "settings", "options"},
    "load_plan": {"path"},
}

FIELDS = {
    "RunOptions": {"parallelism", "retries", "retry_delay", "timeout", "connect_timeout", "max_retry_wait",
                   "retry_budget", "max_response_bytes", "max_list_items", "max_list_pages"},
    "PlanRequest": {"desired", "options", "prune", "targets", "replace", "policy_file", "fail_on", "out"},
    "ApplyRequest": {"desired", "saved", "options", "prune", "targets", "replace", "policy_file", "fail_on",
                     "force", "keep_going", "atomic", "auto_approve", "journal_path", "recovery_path"},
    "PlanOutcome": {"plan", "live", "desired"},
    "ApplyResult": {"plan", "report", "already_done", "recovery_ok", "delivered"},
    "Note": {"text"},
    "PlanReady": {"plan", "live", "desired"},
    "StepsStarting": {"total"},
    "ApplyEvent": {"change", "status", "error", "elapsed_ms"},
    "Secret": {"address", "kind", "field", "value", "project", "id"},
}


def test_api_version_is_major_1():
    assert api.API_VERSION.split(".")[0] == "1"


@pytest.mark.parametrize("name", sorted(PUBLIC_V1))
def test_public_name_is_still_there(name: str):
    assert name in api.__all__, f"reconcile.api.{name} left __all__: that needs a new major version"
    assert getattr(api, name, None) is not None


def test_all_names_only_what_exists():
    assert [n for n in api.__all__ if not hasattr(api, n)] == []
    assert len(set(api.__all__)) == len(api.__all__)


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_documented_parameters_stay(name: str):
    params = set(inspect.signature(getattr(api, name)).parameters)
    assert SIGNATURES[name] <= params, f"{name} lost {sorted(SIGNATURES[name] - params)}"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_documented_fields_stay(name: str):
    have = {f.name for f in dataclasses.fields(getattr(api, name))}
    assert FIELDS[name] <= have, f"{name} lost {sorted(FIELDS[name] - have)}"


def test_one_parallelism_default_for_library_and_cli():
    from reconcile.cli.main import cli

    assert api.RunOptions().parallelism == api.DEFAULT_PARALLELISM
    assert api.PlanRequest.__dataclass_fields__["options"].default == api.RunOptions()
    ctx = cli.make_context("reconcile", ["plan", "x"], resilient_parsing=True)
    for command in ("plan", "apply", "adopt"):
        option = next(p for p in cli.get_command(ctx, command).params if p.name == "parallelism")
        assert option.default == api.DEFAULT_PARALLELISM, command


def test_a_request_needs_a_config_or_a_saved_plan():
    with pytest.raises(api.UsageError):
        api.ApplyRequest()
