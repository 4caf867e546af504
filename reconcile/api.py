"""The public Python API of infrai-reconcile (docs/python-api.md): what the CLI does, as
typed functions a script or an internal platform calls, with return values, events and
exceptions instead of text and exit codes.

    from reconcile import api

    desired = api.load(["infrai.yaml"])
    with api.connect(base_url, api_key) as client:
        outcome = api.plan(client, api.PlanRequest(desired))
        result = api.apply(client, api.ApplyRequest(desired, auto_approve=True), on_event=print)

Semantic versioning: every name in `__all__` stays (with its documented parameters) for the
whole major version `API_VERSION`; tests/api/test_public_names.py fails when one disappears.
Anything not listed here (modules below reconcile/) may change in any release.

Imports: errors, resources, plan, apply, workflow.
"""

from __future__ import annotations

from .apply.events import ApplyEvent, ApplyReport, StepResult, StepStatus
from .apply.secrets import ExecSink, FileSink, Secret, SecretSink
from .errors import (
    ApiError,
    ApplyError,
    ApplyInterrupted,
    ConfigError,
    ImpactAboveThreshold,
    LeaseHeld,
    PlanFileError,
    PolicyViolation,
    ReconcileError,
    StalePlan,
    UnsafePlan,
    UsageError,
    ValidationError,
)
from .plan.model import Action, Change, Plan
from .resources import DesiredState, LiveState
from .workflow.adopt import adopt
from .workflow.connect import connect
from .workflow.events import Note, PlanReady, StepsFinished, StepsStarting, WorkflowEvent
from .workflow.export import export
from .workflow.options import DEFAULT_PARALLELISM, RunOptions
from .workflow.planfile import SavedPlan, load_plan
from .workflow.run import ApplyRequest, ApplyResult, PlanOutcome, PlanRequest, apply, load, plan

#: Major.minor of this API: the major changes only when a name below goes or changes meaning.
API_VERSION = "1.0"

__all__ = [
    "API_VERSION",
    # the workflow
    "load", "connect", "plan", "apply", "adopt", "export", "load_plan",
    "RunOptions", "DEFAULT_PARALLELISM", "PlanRequest", "PlanOutcome", "ApplyRequest", "ApplyResult", "SavedPlan",
    # what it reports
    "WorkflowEvent", "Note", "PlanReady", "StepsStarting", "StepsFinished", "ApplyEvent",
    "ApplyReport", "StepResult", "StepStatus",
    # plans and state
    "Plan", "Change", "Action", "DesiredState", "LiveState",
    # secrets
    "Secret", "SecretSink", "FileSink", "ExecSink",
    # errors
    "ReconcileError", "UsageError", "ConfigError", "ValidationError", "ApiError", "UnsafePlan", "PolicyViolation",
    "ImpactAboveThreshold", "StalePlan", "PlanFileError", "LeaseHeld", "ApplyError", "ApplyInterrupted",
]
