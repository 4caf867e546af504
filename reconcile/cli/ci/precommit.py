"""The pre-commit hook (`.pre-commit-hooks.yaml` runs `reconcile ci pre-commit FILES…`): the
staged config files, one configuration per directory, each checked by `reconcile validate`.

Grouping by directory is what makes the hook work out of the box: two environments'
`infrai.yaml` staged together are two configurations, not one with every resource twice.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import PurePath

# The hook's default `files:`: config files named infrai*.yaml / infrai*.yml, anywhere.
DEFAULT_FILES = r"(^|/)infrai[^/]*\.ya?ml$"


def configurations(files: Sequence[str]) -> dict[str, list[str]]:
    """The files grouped by directory, in the order given: each group is one configuration."""
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(str(PurePath(f).parent), []).append(f)
    return groups


def validate_each(files: Sequence[str], options: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """`reconcile validate` per configuration; 1 when any of them fails, else 0."""
    worst = 0
    for folder, members in configurations(files).items():
        code = subprocess.call([sys.executable, "-m", "reconcile", "validate", *members, *options],
                               env=None if env is None else dict(env))
        if code:
            print(f"{folder}: configuration has errors (above)", file=sys.stderr)
            worst = 1
    return worst
