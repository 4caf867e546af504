"""The executable floor of a `reconcile` command: the least work any tool must do for it.

bench/run.py times this script in the same run, interleaved with the real command, and
divides. It does only what is physically needed, with the same libraries the tool may use:
interpreter start; `import yaml` (and `httpx` when there are requests); `yaml.load(text,
CSafeLoader)` of every config file; the same GETs at the same concurrency against the same
emulator, each body parsed with `json.loads`; for an apply, the same creates at the same
parallelism and the secrets file written once (0600, fsynced). It imports nothing of the
reconciler, so no change to the reconciler can move the floor.

    python bench/floor.py --load DIR [--requests JOB.json] [--secrets-out FILE]

JOB.json: {"url": ..., "parallelism": P, "reads": [{"path", "params", "paginated"}],
"creates": [{"path", "body", "secret_field"}]}; the API key comes from INFRAI_API_KEY, as
the tool's does. Reads run first (an apply plans first), then creates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any


def load_config(directory: str) -> int:
    """Every YAML file of the directory through libyaml; how many files."""
    import yaml

    files = sorted(p for p in Path(directory).iterdir() if p.suffix in (".yaml", ".yml"))
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return len(files)


def run_requests(job: dict, key: str) -> list[tuple[str, str]]:
    """The job's reads, then its creates, `parallelism` at a time; the secrets it got."""
    import httpx
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()
    headers = {"Authorization": f"Bearer {key}"}
    clients: list[httpx.Client] = []
    # Plain http needs no certificates; https loads them once, shared (httpx would load the
    # default bundle again for every client: ~50 ms each).
    verify: Any = False
    if job["url"].startswith("https:"):
        import ssl

        verify = ssl.create_default_context()

    def client() -> httpx.Client:
        # One keep-alive connection per worker thread, as the tool keeps.
        c = getattr(local, "client", None)
        if c is None:
            c = local.client = httpx.Client(base_url=job["url"], headers=headers, timeout=30, verify=verify)
            clients.append(c)
        return c

    def read(chain: dict) -> int:
        params = dict(chain.get("params") or {})
        if chain.get("paginated"):
            params["limit"] = job.get("page_size", 1000)
        pages = 0
        while True:
            response = client().get(chain["path"], params=params)
            response.raise_for_status()
            body = json.loads(response.content)
            pages += 1
            cursor = body.get("next_cursor") if chain.get("paginated") and isinstance(body, dict) else None
            if not cursor:
                return pages
            params["cursor"] = cursor

    def create(call: dict) -> tuple[str, str]:
        response = client().post(call["path"], content=json.dumps(call["body"]),
                                 headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex})
        response.raise_for_status()
        body = json.loads(response.content)
        return call["body"].get("name", ""), body.get(call.get("secret_field", ""), "")

    try:
        with ThreadPoolExecutor(job["parallelism"]) as pool:
            list(pool.map(read, job.get("reads", [])))
            return list(pool.map(create, job.get("creates", [])))
    finally:
        for c in clients:
            c.close()


def write_secrets(path: str, secrets: list[tuple[str, str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"secrets": {name: {"value": value} for name, value in secrets}}, f, indent=2)
        f.flush()
        os.fsync(f.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", help="config directory to read with libyaml")
    parser.add_argument("--requests", help="JSON job of the reads and creates to send")
    parser.add_argument("--secrets-out", help="write the created secrets here once")
    args = parser.parse_args(argv)
    if args.load:
        load_config(args.load)
    if args.requests:
        job = json.loads(Path(args.requests).read_text())
        secrets = run_requests(job, os.environ["INFRAI_API_KEY"])
        if args.secrets_out:
            write_secrets(args.secrets_out, secrets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
