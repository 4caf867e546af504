"""infrai-reconcile: infrastructure-as-code for the Infrai account API.

Layers (each imports only those to its left):
errors → kinds → config → client → live → plan → apply → render → cli.
The emulator (`reconcile.emulator`) is an independent model of the API and imports
nothing else from this package; only the CLI's `--local` wiring imports it.
"""

__version__ = "0.1.0"
