"""The gates between a plan and its apply: the policy (a `--policy` file and the config's
`policy:` section; docs/policy.md), then `--fail-on` over impacts (docs/impact.md) and the
config's checks (docs/checks.md). Run after the plan is shown and before any change:
PolicyViolation exits 3, ImpactAboveThreshold exits 4.

Imports: errors, config, plan, render (each when a gate is asked for).
"""

from __future__ import annotations

from typing import Any, Mapping


def check_gates(plan: Any, settings: Mapping[str, Any] | None, *, policy_file: str | None = None,
                fail_on: str | None = None) -> None:
    """Raise PolicyViolation when `plan` breaks the policy of `policy_file` or of the config's
    `settings`, then ImpactAboveThreshold when an impact is at least `fail_on` ("warning" or
    "danger"). Without a policy or `fail_on` it does nothing: the plan document a policy is
    checked against is built only when there is a policy."""
    settings = settings or {}
    if policy_file or settings.get("policy") is not None:
        from ..config.policy_file import policy_for
        from ..plan.policy import enforce
        from ..render import plan_document

        policy = policy_for(policy_file, settings)
        if policy is not None:
            enforce(policy, plan_document(plan))
    if fail_on:
        from ..errors import ImpactAboveThreshold
        from ..plan import checks, impact
        from ..plan.fail_on import fail_on_message

        # Impacts and failing checks in one message: a plan that trips both says both.
        message = fail_on_message([("impact", impact.fail_on_hits(plan, fail_on)),
                                   ("failing check", checks.fail_on_hits(plan.checks, fail_on))],
                                  fail_on, "nothing was applied")
        if message:
            raise ImpactAboveThreshold(message)


def check_results(results: Any, fail_on: str | None, *, applied: bool = False) -> None:
    """`--fail-on` over check results (docs/checks.md): ImpactAboveThreshold (exit 4), whose
    message says whether the changes were applied."""
    if fail_on and results:
        from ..plan.checks import check_fail_on

        check_fail_on(results, fail_on, applied=applied)
