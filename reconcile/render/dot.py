"""The plan's changes as a Graphviz DOT digraph: one node per change (address and action),
one cluster per dependency level, an edge `A -> B` when B waits for A (`Change.depends_on`)."""

from __future__ import annotations

import json

from ..plan import Plan
from .common import SYMBOL


def _id(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a DOT quoted ID has JSON's escapes


def render_plan_dot(plan: Plan) -> str:
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    if plan.partial:
        lines.append(f"  label={_id('partial plan: ' + ', '.join(plan.targets))};")
    if not plan.changes:
        lines.append(f"  label={_id('No changes. The account matches the configuration.')};")
    levels = sorted({c.level for c in plan.changes})
    for level in levels:
        lines.append(f"  subgraph cluster_level_{level} {{")
        lines.append(f"    label={_id(f'level {level}')};")
        for c in plan.changes:
            if c.level == level:
                label = f"{SYMBOL[c.action]} {c.address}\\n{'+'.join(c.actions)}"
                lines.append(f"    {_id(c.address)} [label={_id(label).replace(chr(92) * 2 + 'n', chr(92) + 'n')}];")
        lines.append("  }")
    present = {c.address for c in plan.changes}
    for c in plan.changes:
        for dep in c.depends_on:
            if dep in present:
                lines.append(f"  {_id(dep)} -> {_id(c.address)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
