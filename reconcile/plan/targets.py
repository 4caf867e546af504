"""`--target` addresses are checked before planning: one that names nothing declared or live
is an error naming it and the closest addresses (a typo must not plan nothing, silently).
Pure.
Imports: errors, plan.planner.
"""

from __future__ import annotations

import difflib
from typing import Iterable

from ..errors import UnknownTarget  # noqa: F401 - raised here, defined with the others
from .planner import _matches  # the planner's rule: the address, anything under it, or a duplicate of it


def check_targets(targets: Iterable[str], addresses: Iterable[str]) -> None:
    known = sorted(set(addresses))
    missing = [t for t in targets if not any(_matches(a, t) for a in known)]
    if not missing:
        return
    parts = []
    for t in missing:
        close = difflib.get_close_matches(t, known, n=3, cutoff=0.5)
        parts.append(f"--target {t}: no declared or live resource has this address"
                     + (f"; did you mean {' or '.join(close)}?" if close else ""))
    raise UnknownTarget("; ".join(parts) + ". Addresses look like projects.web, projects.web.keys.ci, "
                        'webhooks["https://…"], budget.')
