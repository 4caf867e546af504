"""Planning: pure functions from (desired, live) to a Plan, and the safety rules."""

from .model import MASK, PLAN_FORMAT_VERSION, Action, Change, FieldDiff, Impact, Plan, Severity, Unmanaged  # noqa: F401
from .planner import PlanOptions, build_plan  # noqa: F401
from .safety import SafetyLimits, check_protected, check_thresholds  # noqa: F401
