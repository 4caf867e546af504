"""`reconcile keys compromised ADDRESS`: report a leaked key; the API revokes its secret and
issues a new one in one step. The new secret goes to the secret sinks, never to the output."""

from __future__ import annotations

from pathlib import Path

import click

from ..workflow.keys import report_compromised
from .common import EXIT_OK, Out, connection_options, handle_errors
from .git_guard import check_secrets_files
from .wiring import Connection, default_recovery_path, open_client, run_options


@click.group("keys")
def keys() -> None:
    """Operations on API keys that are events, not declarations (a leak)."""


@keys.command("compromised")
@click.argument("address")
@connection_options
@click.option("--confirmed-leak/--no-confirmed-leak", default=True, show_default=True,
              help="Confirmed: the old secret stops working at once. Not confirmed: it keeps a short grace period.")
@click.option("--secrets-out", type=click.Path(dir_okay=False), envvar="INFRAI_SECRETS_OUT",
              help="Write the new secret to this file (0600; JSON, or dotenv for *.env).")
@click.option("--allow-tracked-secrets", is_flag=True,
              help="Write the secret even to a file git would commit (inside a work tree and not ignored).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", hidden=True)
@handle_errors
def compromised(address: str, endpoint: str | None, local_db: str | None, parallelism: int, retries: int,
                retry_delay: float, confirmed_leak: bool, secrets_out: str | None, color: str,
                allow_tracked_secrets: bool = False) -> int:
    """Report the key at ADDRESS (e.g. projects.web.keys.ci) as leaked: revoke and re-issue it."""
    out = Out(False)
    # Before the re-issue: its secret is returned once and must not land where git commits it.
    for warning in check_secrets_files([Path(secrets_out) if secrets_out else default_recovery_path(None)],
                                       allow=allow_tracked_secrets):
        out.info(warning)
    options = run_options(parallelism, retries, retry_delay)
    with open_client(Connection(endpoint, local_db, options)) as client:
        reissued = report_compromised(client, address, confirmed_leak=confirmed_leak, secrets_out=secrets_out,
                                      recovery_path=default_recovery_path(secrets_out), options=options)
    where = secrets_out or str(default_recovery_path(None))
    grace = "the old secret no longer works" if confirmed_leak else \
        f"the old secret works until {reissued.grace_expires_at}"
    out.result(f"{address}: reported as compromised; re-issued ({grace}). New secret written to {where} (mode 0600).")
    return EXIT_OK
