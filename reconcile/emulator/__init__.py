"""The Infrai account API emulator: `create_app(db_path)` and `bootstrap_secret(db_path)`.

An independent model of the API: it imports nothing from `reconcile` outside this package.
"""

from .app import bootstrap_secret, create_app

__all__ = ["bootstrap_secret", "create_app"]
