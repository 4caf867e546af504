"""The plan as a pull-request comment: a summary table, then collapsible details,
truncated at whole lines with a count of what was cut. Each change cites where it was
declared, linked to the line in the repository when `links` says how (docs/ci.md#citations)."""

from __future__ import annotations

from ..plan import Action, Change, Plan
from .common import (SYMBOL, CitationStyle, SourceLinks, change_citation, deleted_with_parent, delta_text, diff_values, field_origin,
                     field_source, headline, list_delta, with_it_line)
from .checks import check_lines_markdown
from .impacts import impact_lines_markdown

DEFAULT_LIMIT = 60_000


def _at(links: SourceLinks | None, file: str | None, line: int | None, end_line: int | None = None,
        text: str | None = None, commit: str | None = None) -> str:
    """`file:line` as a link to that line at the commit (the job's, or `commit`), or as
    code without `links`."""
    shown = (text or (f"{file}:{line}" if line else f"{file}")).replace("`", "'")
    url = links.url(file, line, end_line, commit=commit) if links is not None and file else None
    return f"[`{shown}`]({url})" if url else f"`{shown}`"


def _commit(links: SourceLinks | None, sha: str) -> str:
    return f"[`{sha[:12]}`]({links.commit_url(sha)})" if links is not None else f"`{sha[:12]}`"


def _plain(text: str) -> str:
    """A commit subject as markdown text: no links, HTML or emphasis of its own."""
    return "".join("\\" + ch if ch in "\\`*_[]<>|#!" else ch for ch in text)


def _style(links: SourceLinks | None) -> CitationStyle:
    """Citations as the text plan words them, each place and commit a link, references code."""
    return CitationStyle(place=lambda file, line, end_line, commit: _at(links, file, line, end_line, commit=commit),
                         commit=lambda sha: _commit(links, sha), subject=lambda text: f"({_plain(text)})",
                         reference=lambda text: f"`{text}`")


def citation_lines(c: Change, links: SourceLinks | None) -> list[str]:
    """One list item per change saying where it is declared (its lines), with a sub-item
    per changed field whose value was not written out there (a variable, the environment)."""
    style = _style(links)
    lines = [f"- `{c.address}` ({c.action.value}): {change_citation(c, style)}"]
    src = c.source
    if src is None:
        return lines
    seen: set[str] = set()
    for d in c.diffs:
        fs = field_source(c, d)
        name = d.path.split(".", 1)[0].split("[", 1)[0]
        # Fields written out in the resource's own lines are inside its link already.
        if fs is None or name in seen or not field_origin(fs):
            continue
        seen.add(name)
        lines.append(f"  - `{name}` at {_at(links, src.file, fs.line, text=f'line {fs.line}')}: {field_origin(fs, style)}")
    return lines


def render_plan_markdown(plan: Plan, *, title: str = "Infrai plan", limit: int = DEFAULT_LIMIT,
                         links: SourceLinks | None = None) -> str:
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
    head += impact_lines_markdown(plan, links)
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
    blocks: list[tuple[list[str], list[str]]] = []
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
                delta = list_delta(d) if c.action is not Action.CREATE else None
                if c.action is Action.CREATE:
                    block.append(f"{sign}     {d.path}: {after}")
                elif delta is not None:
                    block.append(f"{sign}     {d.path}: {delta_text(*delta)}")
                else:
                    block.append(f"{sign}     {d.path}: {before} -> {after}")
        blocks.append((block, citation_lines(c, links)))
    opening = [f"<details><summary>Changes ({len(plan.changes)})</summary>", "", "```diff"]
    closing = ["```", "", "</details>", ""]
    tail = [f"<sub>config {plan.config_digest[:12]} · live {plan.live_fingerprint[:12]} · plan {plan.fingerprint[:12]}</sub>", ""]
    text_head = "\n".join(head)
    budget = limit - len(text_head) - len("\n".join(opening + closing + tail)) - 300
    kept: list[str] = []
    cited: list[str] = []
    used = len("**Where each change is declared:**") + 4
    shown = 0
    for block, citations in blocks:
        size = sum(len(line) + 1 for line in block + citations)
        if used + size > budget:
            break
        kept += block
        cited += citations
        used += size
        shown += 1
    sources = ["", "**Where each change is declared:**", "", *cited] if cited else []
    if shown < len(blocks):
        cut = len(blocks) - shown
        closing = ["```", *sources, "", f"… {cut} more change{'s' if cut != 1 else ''} not shown (the plan is too long "
                   "for one comment; see the full plan in the job log or the JSON plan).", "", "</details>", ""]
    else:
        closing = ["```", *sources, "", "</details>", ""]
    if not kept:  # nothing fits: no empty diff block
        count = len(blocks)
        opening, closing = opening[:2], [f"The plan is too long for one comment: its {count} change{'s are' if count != 1 else ' is'} "
                                         "in the job log and the JSON plan.", "", "</details>", ""]
    return text_head + "\n" + "\n".join(opening + kept + closing) + "\n" + "\n".join(tail)
