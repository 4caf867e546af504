"""The plan as a pull-request comment: a summary table, then collapsible details,
truncated at whole lines with a count of what was cut."""

from __future__ import annotations

from ..plan import Action, Plan
from .common import SYMBOL, deleted_with_parent, diff_values, headline, with_it_line
from .checks import check_lines_markdown
from .impacts import impact_lines_markdown

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
    head += impact_lines_markdown(plan)
    head += check_lines_markdown(plan.checks)
    drift = plan.drift
    if drift:
        listed = ", ".join(f"`{u.address}`" for u in drift[:10]) + (f" and {len(drift) - 10} more" if len(drift) > 10 else "")
        head += [f"**Drift:** {len(drift)} live object{'s' if len(drift) != 1 else ''} the configuration does not "
                 f"declare, inside what it manages: {listed}. Declare them, delete them with `--prune`, or set "
                 "`unmanaged: ignore` if they are not yours.", ""]
    # Warnings (apply would refuse this plan, a likely rename, an unreadable singleton) come
    # before the changes, so a trimmed comment still shows them.
    head += [f"> **Warning:** {w}" for w in plan.warnings] + ([""] if plan.warnings else [])
    if not plan.changes:
        return "\n".join(head + ["No changes to make." if drift else "No changes. The account matches the configuration.", ""])
    # One block of lines per change, so truncation drops whole changes, never part of a line.
    blocks: list[list[str]] = []
    nested = deleted_with_parent(plan)
    under_parent = {child.address for children in nested.values() for child in children}
    for c in plan.changes:
        if c.address in under_parent:
            continue  # shown under its parent's delete
        sign = {Action.CREATE: "+", Action.DELETE: "-", Action.REPLACE: "!", Action.UPDATE: "!", Action.ROTATE: "!"}[c.action]
        block = [f"{sign} {SYMBOL[c.action]} {c.address}  {headline(c)}"]
        if c.address in nested:
            block.append(f"{sign}     {with_it_line(nested[c.address])}")
        if c.action is not Action.DELETE:
            for d in c.diffs:
                before, after = diff_values(d)
                block.append(f"{sign}     {d.path}: {after}" if c.action is Action.CREATE else f"{sign}     {d.path}: {before} -> {after}")
        blocks.append(block)
    opening = [f"<details><summary>Changes ({len(plan.changes)})</summary>", "", "```diff"]
    closing = ["```", "", "</details>", ""]
    tail = [f"<sub>config {plan.config_digest[:12]} · live {plan.live_fingerprint[:12]} · plan {plan.fingerprint[:12]}</sub>", ""]
    text_head = "\n".join(head)
    budget = limit - len(text_head) - len("\n".join(opening + closing + tail)) - 300
    kept: list[str] = []
    used = 0
    shown = 0
    for block in blocks:
        size = sum(len(line) + 1 for line in block)
        if used + size > budget:
            break
        kept += block
        used += size
        shown += 1
    if shown < len(blocks):
        cut = len(blocks) - shown
        closing = ["```", "", f"… {cut} more change{'s' if cut != 1 else ''} not shown (the plan is too long for one "
                   "comment; see the full plan in the job log or the JSON plan).", "", "</details>", ""]
    return text_head + "\n" + "\n".join(opening + kept + closing) + "\n" + "\n".join(tail)
