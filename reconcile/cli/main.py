"""`reconcile`: the command group. Each command lives in its own module, imported only when
it runs (click's LazyGroup pattern), so `--version`, `--help`, completion and `validate`
start without loading the HTTP client, the planner's diff library or the emulator.

This module also owns two contracts every command shares:
- exit codes: a usage error (unknown option or command, bad value, missing path) exits 1,
  never click's 2, which only `plan --detailed-exitcode` may mean ("the plan has changes");
- environment variables: `INFRAI_<COMMAND>_<OPTION>` is named after the option as typed
  (`INFRAI_PLAN_FORMAT` for `--format`), not after the Python parameter behind it.

Imports: click, collector, redact and `reconcile.__version__` at start; a command's module on dispatch.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NamedTuple

import click

from .. import __version__
from ..collector import gc_paused, mark_short_lived

ENV_PREFIX = "INFRAI"
EXIT_USAGE = 1


class LazyCommand(NamedTuple):
    module: str  # relative to reconcile.cli (or absolute, for the emulator)
    attr: str
    short_help: str  # what `--help` lists, without importing the module (a test keeps it true)
    # False for a command whose modules never log (it reads files, sends nothing): logging
    # is then configured only for -v (it is ~3 ms of a `validate`; tests/cli/test_startup_imports.py).
    logs: bool = True


COMMANDS: dict[str, LazyCommand] = {
    "adopt": LazyCommand(".cmd_adopt", "adopt", "Stamp a stack's ownership marker on existing objects to take them over."),
    "apply": LazyCommand(".cmd_apply", "apply",
                         "Make the account match the configuration (PATHS), or apply a saved plan (PLANFILE)."),
    "ci": LazyCommand(".cmd_ci", "ci", "Entry points for CI systems (see docs/ci.md)."),
    "emulator": LazyCommand("reconcile.emulator.cli", "emulator_cli",
                            "Run and inspect the local Infrai account API emulator."),
    "doctor": LazyCommand(".cmd_doctor", "doctor",
                            "Probe the API read-only: is it the one the reconciler assumes? Exit 1 on any failed point."),
    "export": LazyCommand(".cmd_export", "export", "Write the live account as config YAML that `plan` finds unchanged."),
    "graph": LazyCommand(".cmd_graph", "graph", "Print the plan's changes as a DOT digraph (pipe to `dot -Tsvg`); "
                                                "an edge A -> B means B waits for A."),
    "keys": LazyCommand(".cmd_keys", "keys", "Operations on API keys that are events, not declarations (a leak)."),
    "plan": LazyCommand(".cmd_plan", "plan", "Show what apply would change, without changing anything."),
    "status": LazyCommand(".cmd_status", "status", "Report the account's health, read-only: spend, headroom, keys, webhooks."),
    "validate": LazyCommand(".cmd_validate", "validate", "Check configuration files offline: schema, references, duplicates.",
                            logs=False),
    "version": LazyCommand(".cmd_version", "version",
                           "Print the version of infrai-reconcile and of its machine-readable formats."),
    "webhooks": LazyCommand(".cmd_webhooks", "webhooks",
                            "Operations on webhook deliveries that are events, not declarations (retry, replay)."),
}


def env_prefix_of(command_path: list[str]) -> str:
    """`["plan"]` → `INFRAI_PLAN`, `["ci", "github-action"]` → `INFRAI_CI_GITHUB_ACTION`: the
    prefix click gives the command's context under `auto_envvar_prefix`."""
    return "_".join([ENV_PREFIX, *command_path]).upper().replace("-", "_")


def name_env_vars(command: click.Command, command_path: list[str]) -> None:
    """Give every option the environment variable named after its long flag, as documented
    (docs/cli-reference.md): click's automatic name comes from the parameter's Python name,
    so `--format` (parameter `fmt`) would only answer to `INFRAI_PLAN_FMT`. That name keeps
    working (click still falls back to it); idempotent."""
    prefix = env_prefix_of(command_path)
    for param in command.params:
        if not isinstance(param, click.Option) or not param.allow_from_autoenv:
            continue
        name = documented_env_var(param, prefix)
        if name is None:
            continue
        current = [] if param.envvar is None else [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        if name not in current:
            param.envvar = [*current, name]
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            name_env_vars(sub, [*command_path, sub_name])


def documented_env_var(option: click.Option, prefix: str) -> str | None:
    """`INFRAI_PLAN_FORMAT` for `plan --format`; None for an option without a long flag."""
    longs = [o for o in option.opts if o.startswith("--")]
    if not longs:
        return None
    return f"{prefix}_{longs[0][2:].upper().replace('-', '_')}"


class ReconcileGroup(click.Group):
    """The top-level group: lazy commands, exit 1 for usage errors."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            entry = COMMANDS[cmd_name]
            with gc_paused():  # as the command tree's (cli/__init__.py)
                module = importlib.import_module(entry.module, package=__package__)
            command = getattr(module, entry.attr)
            name_env_vars(command, [cmd_name])
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """A command registered eagerly (not through COMMANDS) gets the same env names."""
        super().add_command(cmd, name)
        name_env_vars(cmd, [name or cmd.name or ""])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Click would load every command for its one-line help; the registry has it.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = [(name, _shorten(COMMANDS[name].short_help, limit) if name in COMMANDS
                 else self.commands[name].get_short_help_str(limit)) for name in names
                if name in COMMANDS or not self.commands[name].hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        # Completing a command name must not load every command either.
        items = [CompletionItem(name, help=entry.short_help) for name, entry in sorted(COMMANDS.items())
                 if name.startswith(incomplete)]
        return items + [i for i in click.Command.shell_complete(self, ctx, incomplete)]

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    # Usage errors: click raises UsageError (exit 2) from parsing the group's own arguments
    # (make_context) and a command's (invoke); both become exit 1 with click's message,
    # "Did you mean" hints included.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE  # type: ignore[misc]  # a ClassVar in click: this one error exits 1
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE  # type: ignore[misc]  # a ClassVar in click: this one error exits 1
            raise


def _shorten(text: str, limit: int) -> str:
    """As click shortens a command's help in the list: whole words, then `...`."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 3, 0)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "..."


@click.group(cls=ReconcileGroup,
             context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": ENV_PREFIX})
# Not from INFRAI_VERSION: a workflow pinning the tool's version in that variable must not
# turn every command into `--version` (or an "invalid boolean" error).
@click.version_option(__version__, prog_name="infrai-reconcile", allow_from_autoenv=False)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for HTTP calls).")
def cli(verbose: int) -> None:
    """Infrastructure-as-code for the Infrai account API.

    Declare projects, keys, webhooks, budgets, routing and alerts in YAML; `validate` it,
    `plan` to see what would change, `apply` to make the account match.
    """
    command = COMMANDS.get(click.get_current_context().invoked_subcommand or "")
    if verbose == 0 and command is not None and not command.logs:
        return
    import logging

    from ..redact import RUN_SECRETS, RedactingFilter

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # no secret the run has seen in any log line
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(RUN_SECRETS))


name_env_vars(cli, [])


def main() -> None:
    # SIGTERM (a CI runner cancelling the job, `timeout`) ends every command like Ctrl-C:
    # exit 130 with one line, not a silent 143. `apply` installs its own handler while its
    # steps run, so the steps in flight finish first (cli/signals.py, docs/partial-applies.md).
    from .signals import interrupt_on_sigterm

    interrupt_on_sigterm()
    mark_short_lived()  # one process, one run: reconcile/collector.py
    cli(prog_name="reconcile")


if __name__ == "__main__":  # pragma: no cover
    main()
