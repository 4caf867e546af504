"""The one confirmation prompt of the commands that change something (`apply`, `webhooks
retry|replay`): only `yes` goes ahead; in CI or without a terminal it never waits, it fails
saying to pass --auto-approve.

Imports: errors.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

import click

from ..errors import ReconcileError


def confirm(question: str, *, to: str, review: bool = False, before: Callable[[], None] | None = None) -> bool:
    """Ask `question` and return whether the answer is `yes`. `to` finishes the refusal
    ("pass --auto-approve … to apply it"); `review` opens it with "Review the plan and";
    `before` prints what to weigh (e.g. the irreversible steps) just before the prompt.
    Ctrl-C or Ctrl-D at the prompt is a plain no."""
    do = "Review the plan and pass" if review else "Pass"
    if os.environ.get("CI"):
        # CI runs must never hang on a prompt, even when a pseudo-terminal is attached.
        raise ReconcileError("refusing to prompt for confirmation: CI is set (non-interactive). "
                             f"{do} --auto-approve (or INFRAI_AUTO_APPROVE=1) to {to}.")
    if not sys.stdin.isatty():
        raise ReconcileError("refusing to prompt for confirmation: standard input is not a terminal. "
                             f"{do} --auto-approve to {to} non-interactively.")
    if before is not None:
        before()
    try:
        answer = click.prompt(f"{question} Only 'yes' will be accepted", default="", show_default=False)
    except click.Abort:  # not click's "Aborted!"
        answer = ""
    return bool(answer.strip() == "yes")
