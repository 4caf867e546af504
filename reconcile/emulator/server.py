"""Run the emulator under uvicorn (httptools + uvloop where installed, access log off).

On the first start of a database the bootstrap key is printed once; later starts print the
account id and how to get the key again.
"""

from __future__ import annotations

import gc
import importlib.util
from typing import Sequence

import uvicorn

from .app import create_app
from .faults import FaultConfig


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    db: str = ".infrai-emulator.db",
    faults: FaultConfig | None = None,
    webhook_delivery: bool = False,
    allow_webhook_hosts: Sequence[str] = (),
    access_log: bool = False,
    resolve_hosts: bool = False,
) -> None:
    app = create_app(db, faults=faults, webhook_delivery=webhook_delivery,
                     allow_webhook_hosts=allow_webhook_hosts, resolve_hosts=resolve_hosts)
    store = app.state.emulator.store
    if store.meta_get("bootstrap_printed") is None:
        print(f"Infrai emulator: new account {store.account_id} in {db}")
        print(f"Bootstrap key (shown once): {app.state.emulator.bootstrap_secret}")
        store.meta_set("bootstrap_printed", "1")
    else:
        print(f"Infrai emulator: account {store.account_id} in {db}")
        print(f"The bootstrap key was printed at first start; get it again with: "
              f"reconcile emulator bootstrap-key --db {db}")
    print(f"Listening on http://{host}:{port} (base URL for the API: http://{host}:{port})", flush=True)
    # Everything built so far lives as long as the server: keep it out of the collector's
    # scans (list pages allocate enough to trigger collections that would walk it all).
    gc.freeze()
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop" if _available("uvloop") else "asyncio",
        http="httptools" if _available("httptools") else "h11",
        access_log=access_log,
        log_level="info" if access_log else "warning",
    )
