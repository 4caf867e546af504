"""`reconcile status [PATHS]`: the account's health, read-only (docs/status.md). The reads
are reconcile/workflow/status.py, the rules reconcile/plan/health.py, the rendering
reconcile/render/status.py; this parses, calls, prints and applies `--fail-on` (exit 4)."""

from __future__ import annotations

import json

import click

from ..plan.health import HealthOptions, check_status_fail_on
from ..render.status import render_status_markdown, render_status_text, status_document
from ..workflow.status import account_status
from .common import EXIT_OK, Out, connection_options, handle_errors, load_desired, pick_color
from .wiring import Connection, open_client, run_options


@click.command("status")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=True))
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Set ${var:NAME} (with PATHS).")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML file of variables for ${var:NAME} (with PATHS).")
@connection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--fail-on", "fail_on", type=click.Choice(["warning", "danger"]),
              help="Exit 4 when a finding is at least this severe (after printing the report).")
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True,
              help="Look-back of payment failures and webhook deliveries, in days.")
@click.option("--rotation-window", type=click.IntRange(0, 365), default=14, show_default=True,
              help="Report keys whose rotation (rotate_after, from PATHS) falls due within this many days.")
@click.option("--min-balance", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Wallet balance (USD) below which status warns.")
@click.option("--headroom", type=click.FloatRange(1, 100), default=80.0, show_default=True,
              help="Percent of a tier limit or quota in use at which status warns (100% is danger).")
@click.option("--min-delivery-rate", type=click.FloatRange(0, 100), default=95.0, show_default=True,
              help="Percent of a webhook's deliveries that must succeed.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", envvar="INFRAI_COLOR",
              help="Colour output (NO_COLOR/FORCE_COLOR honoured).")
@click.option("--no-color", "no_color", is_flag=True, help="Same as --color never.")
@handle_errors
def status(paths: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...], endpoint: str | None,
           local_db: str | None, parallelism: int, retries: int, retry_delay: float, fmt: str, fail_on: str | None,
           days: int, rotation_window: int, min_balance: float, headroom: float, min_delivery_rate: float,
           color: str, no_color: bool) -> int:
    """Report the account's health, read-only: spend, headroom, keys, webhooks.

    PATHS (optional) is the config, for the keys' rotate_after and grace_hours.
    """
    desired = load_desired(paths, var_pairs, var_files) if paths else None
    options = HealthOptions(days=days, rotation_window_days=rotation_window, min_balance_usd=min_balance,
                            headroom_percent=headroom, min_delivery_rate=min_delivery_rate)
    with open_client(Connection(endpoint, local_db, run_options(parallelism, retries, retry_delay))) as client:
        report = account_status(client, options, desired=desired, parallelism=parallelism)
    use_color = pick_color(color, no_color)
    if fmt == "json":
        text = json.dumps(status_document(report), indent=2) + "\n"
    elif fmt == "markdown":
        text = render_status_markdown(report)
    else:
        text = render_status_text(report, style=click.style if use_color else None)
    Out(use_color).result(text)
    check_status_fail_on(report, fail_on)  # exit 4, once the report is shown
    return EXIT_OK
