"""`reconcile export`: write the live account as config YAML (the pure part is reconcile/config/export.py)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config.export import section_keys, select_kinds, to_yaml
from ..workflow.export import export as export_live
from .common import EXIT_OK, Out, connection_options, handle_errors, load_desired
from .wiring import Connection, open_client, run_options

HEADER = "Exported by `reconcile export` from the live account."


@click.command("export")
@connection_options
@click.option("--kinds", "kinds", multiple=True, metavar="KINDS",
              help="Only these kinds, e.g. projects,keys (default: all). Parents of nested kinds come along by name.")
@click.option("-o", "--output", "output", type=click.Path(), default=None,
              help="A directory (one file per kind: projects.yaml, …), a file, or stdout by default.")
@click.option("--settings-from", "settings_from", multiple=True, type=click.Path(exists=True), metavar="PATH",
              help="The config the account is managed from: keep its config-only settings (rotate_after, "
                   "grace_hours, protect), the variables of its write-only values, prune, secrets and policy.")
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Set ${var:NAME} in --settings-from.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML file of variables for --settings-from; later files win.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", hidden=True)
@handle_errors
def export(endpoint: str | None, local_db: str | None, parallelism: int, retries: int, retry_delay: float,
           kinds: tuple[str, ...], output: str | None, settings_from: tuple[str, ...], var_pairs: tuple[str, ...],
           var_files: tuple[str, ...], color: str) -> int:
    """Write the live account as config YAML that `plan` finds unchanged."""
    wanted = select_kinds(kinds or None)
    # Read first: a config that does not load stops the export before any API call.
    settings = load_desired(settings_from, var_pairs, var_files) if settings_from else None
    options = run_options(parallelism, retries, retry_delay)
    with open_client(Connection(endpoint, local_db, options)) as client:
        exported = export_live(client, wanted, settings=settings, options=options)
    keys = section_keys(exported)
    out = Out(False)
    if output and (output.endswith("/") or Path(output).is_dir()):
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        for key in keys:
            (folder / f"{key}.yaml").write_text(to_yaml(exported, [key], header=HEADER), encoding="utf-8")
        out.info(f"Wrote {len(keys)} file(s) to {folder}/.")
    elif output:
        Path(output).write_text(to_yaml(exported, keys, header=HEADER), encoding="utf-8")
        out.info(f"Wrote {output}.")
    else:
        out.result(to_yaml(exported, keys, header=HEADER))
    if settings is not None and settings.stack:
        out.info(f"The stack {settings.stack!r} of --settings-from is not carried over: the export holds the whole "
                 "account, a stack's config only what it owns (docs/stacks.md).")
    if exported.env:
        out.info("Write-only values are never read back, so they are exported commented out; to manage one, "
                 "uncomment its line and set its variable: " + ", ".join(sorted(exported.env)))
    return EXIT_OK
