"""The budget: a daily or monthly hard cap and alert threshold (enforced by
`routes_usage.record_usage`).
"""

from __future__ import annotations

from . import validation as v
from .context import Ctx, Outcome


async def budget_get(ctx: Ctx) -> Outcome:
    return 200, ctx.store.doc("budget")



async def budget_set(ctx: Ctx) -> Outcome:
    # A PUT: omitted optional fields become null.
    budget = {
        "period": v.enum(ctx.params, "period", ("daily", "monthly"), required=True),
        "hard_cap_usd": v.number(ctx.params, "hard_cap_usd", minimum=0, maximum=1e9, max_decimals=2),
        "alert_threshold_usd": v.number(ctx.params, "alert_threshold_usd", minimum=0, maximum=1e9, max_decimals=2),
    }
    ctx.store.set_doc("budget", budget)
    return 200, budget
