"""`reconcile emulator ...`: the click group `emulator_cli` (serve, bootstrap-key)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import click

from .app import bootstrap_secret
from .faults import FaultConfig

FAULTS_ENV = "INFRAI_EMULATOR_FAULTS"


@click.group("emulator")
def emulator_cli() -> None:
    """Run and inspect the local Infrai account API emulator."""


def _faults(latency_ms: int, rates: dict[str, float], seed: int | None) -> FaultConfig | None:
    values: dict[str, Any] = {}
    env = os.environ.get(FAULTS_ENV, "").strip()
    if env:
        try:
            values = FaultConfig.from_env_string(env).to_dict()
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint=FAULTS_ENV) from None
    if latency_ms:
        values["latency_ms"] = latency_ms
    values.update({name: rate for name, rate in rates.items() if rate})
    if seed is not None:
        values["seed"] = seed
    if not values:
        return None
    try:
        return FaultConfig.from_dict(values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@emulator_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--db", default=".infrai-emulator.db", show_default=True, help="SQLite file (created on first use).")
@click.option("--webhook-delivery/--no-webhook-delivery", default=False, show_default=True,
              help="Really POST webhook deliveries (only to --allow-webhook-host hosts).")
@click.option("--allow-webhook-host", "allow_webhook_hosts", multiple=True,
              help="A host webhooks may target and be delivered to (repeatable).")
@click.option("--resolve-hosts", is_flag=True, help="Resolve webhook host names for the SSRF check.")
@click.option("--access-log", is_flag=True, help="Log every request (costs ~30% throughput).")
@click.option("--latency-ms", default=0, type=click.IntRange(0), help="Latency added to every /v1 request.")
@click.option("--error-rate-500", default=0.0, type=click.FloatRange(0, 1))
@click.option("--error-rate-503", default=0.0, type=click.FloatRange(0, 1))
@click.option("--error-rate-429", default=0.0, type=click.FloatRange(0, 1))
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), help="Fraction of dropped connections.")
@click.option("--fault-seed", default=None, type=int, help="Seed making injected faults reproducible.")
def serve_command(host: str, port: int, db: str, webhook_delivery: bool, allow_webhook_hosts: tuple[str, ...],
                  resolve_hosts: bool, access_log: bool, latency_ms: int, error_rate_500: float,
                  error_rate_503: float, error_rate_429: float, drop_rate: float, fault_seed: int | None) -> None:
    """Serve the emulator (faults also from $INFRAI_EMULATOR_FAULTS; flags win)."""
    from .server import serve

    faults = _faults(latency_ms, {"error_500": error_rate_500, "error_503": error_rate_503,
                                  "error_429": error_rate_429, "drop": drop_rate}, fault_seed)
    try:
        serve(host=host, port=port, db=db, faults=faults, webhook_delivery=webhook_delivery,
              allow_webhook_hosts=allow_webhook_hosts, access_log=access_log, resolve_hosts=resolve_hosts)
    except sqlite3.Error as error:  # includes a missing key file (sealing.KeyFileError)
        raise click.ClickException(f"--db {db}: cannot open the emulator database: {error}") from None


@emulator_cli.command("bootstrap-key")
@click.option("--db", default=".infrai-emulator.db", show_default=True)
def bootstrap_key_command(db: str) -> None:
    """Print the bootstrap key of an emulator database (creating it if new)."""
    try:
        click.echo(bootstrap_secret(db))
    except sqlite3.Error as error:
        raise click.ClickException(f"--db {db}: cannot open the emulator database: {error}") from None
