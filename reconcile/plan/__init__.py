"""Planning: pure functions from (desired, live) to a Plan, and the safety rules."""

from .model import MASK, PLAN_FORMAT_VERSION, Action, Change, FieldDiff, Impact, Plan, Severity, Unmanaged
from .planner import PlanOptions, build_plan
from .safety import SafetyLimits, check_protected, check_thresholds

__all__ = [
    "MASK",
    "PLAN_FORMAT_VERSION",
    "Action",
    "Change",
    "FieldDiff",
    "Impact",
    "Plan",
    "Severity",
    "Unmanaged",
    "PlanOptions",
    "build_plan",
    "SafetyLimits",
    "check_protected",
    "check_thresholds",
]
