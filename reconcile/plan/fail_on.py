"""`--fail-on warning|danger`: one gate over what a run found, whatever found it.

Impacts (docs/impact.md), failing checks (docs/checks.md) and `status` findings
(docs/status.md) each decide which of theirs are at or above the level; this module words
the one error they all exit 4 with, listing every hit of every group, so a plan that trips
on an impact and a check says both:

    1 impact and 2 failing checks at or above --fail-on warning; nothing was applied:
      [danger] budget: ...

Imports: nothing outside this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Hit:
    """One thing at or above the level: its severity as its own group spells it."""

    severity: str
    subject: str
    message: str


def fail_on_message(groups: Sequence[tuple[str, Sequence[Hit]]], fail_on: str, outcome: str | None = None
                    ) -> str | None:
    """The gate's message for `groups` of (noun, hits), or None when nothing is hit.
    `outcome` says what happened to the changes ("nothing was applied")."""
    hit = [(noun, hits) for noun, hits in groups if hits]
    if not hit:
        return None
    counts = " and ".join(f"{len(hits)} {noun}{'s' if len(hits) != 1 else ''}" for noun, hits in hit)
    lines = "\n".join(f"  [{h.severity}] {h.subject}: {h.message}" for _, hits in hit for h in hits)
    return f"{counts} at or above --fail-on {fail_on}{f'; {outcome}' if outcome else ''}:\n{lines}"
