"""`python -m reconcile.emulator serve|bootstrap-key ...`."""

from .cli import emulator_cli

if __name__ == "__main__":
    emulator_cli(prog_name="python -m reconcile.emulator")
