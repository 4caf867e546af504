"""The plan as a pull-request comment: a summary table, then collapsible details,
truncated at whole lines with a count of what was cut."""

from __future__ import annotations

from ..plan import Action, Plan
from .common import SYMBOL, diff_values, headline

DEFAULT_LIMIT = 60_000


def render_plan_markdown(plan: Plan, *, title: str = "Infrai plan", limit: int = DEFAULT_LIMIT) -> str:
    n = plan.counts()
    head = [f"### {title}", ""]
    if plan.partial:
        head += [f"> Partial plan: only `{'`, `'.join(plan.targets)}` and what they depend on.", ""]
    head += [
        "| create | update | replace | delete | rotate | unmanaged |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {n['create']} | {n['update']} | {n['replace']} | {n['delete']} | {n['rotate']} | {len(plan.unmanaged)} |",
        "",
        f"**{plan.summary()}**",
        "",
    ]
    if not plan.changes:
        return "\n".join(head + ["No changes. The account matches the configuration.", ""])
    body: list[str] = ["<details><summary>Changes</summary>", "", "```diff"]
    for c in plan.changes:
        sign = {Action.CREATE: "+", Action.DELETE: "-", Action.REPLACE: "!", Action.UPDATE: "!", Action.ROTATE: "!"}[c.action]
        body.append(f"{sign} {SYMBOL[c.action]} {c.address}  {headline(c)}")
        if c.action is not Action.DELETE:
            for d in c.diffs:
                before, after = diff_values(d)
                body.append(f"{sign}     {d.path}: {after}" if c.action is Action.CREATE else f"{sign}     {d.path}: {before} -> {after}")
    body += ["```", "", "</details>", ""]
    tail = [f"<sub>config {plan.config_digest[:12]} · live {plan.live_fingerprint[:12]} · plan {plan.fingerprint[:12]}</sub>", ""]
    text_head = "\n".join(head)
    budget = limit - len(text_head) - len("\n".join(tail)) - 200
    kept: list[str] = []
    used = 0
    for i, line in enumerate(body):
        if used + len(line) + 1 > budget:
            cut = len(body) - i
            kept += ["```", "", f"… {cut} more lines not shown (the plan is too long for one comment; "
                     "see the full plan in the job log or the JSON plan).", "", "</details>", ""]
            break
        kept.append(line)
        used += len(line) + 1
    return text_head + "\n" + "\n".join(kept) + "\n" + "\n".join(tail)
