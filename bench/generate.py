"""Generate Infrai accounts of any size, as YAML config and as a seeded emulator database.

An account of N resources is a fixed mix (the `Shape`): 1% projects, 5% webhooks, 3%
members, 1% bandwidth alerts (the API caps alerts at 100) and the rest API keys, spread
evenly over the projects. `write_config` writes it as the YAML users write (one file per
section); `seed_db` makes an emulator database match it, through the API and the
reconciler's own plan + apply, in process (no sockets, no injected latency), so that a
no-op plan can then be measured against an account that already matches.

    python bench/generate.py --resources 10000 --out /tmp/acct [--seed-db /tmp/acct.db]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script from a fresh checkout
    sys.path.insert(0, str(ROOT))

from reconcile.client import InfraiClient  # noqa: E402
from reconcile.client.asgi import SyncASGITransport  # noqa: E402
from reconcile.config import load_config  # noqa: E402
from reconcile.workflow.engine import apply_plan, make_plan  # noqa: E402
from reconcile.resources import DesiredState  # noqa: E402

MAX_ALERTS = 100  # the API's limit per account (docs/emulator.md, Bandwidth alert)
ROLES = ("developer", "viewer", "admin", "billing-ops")
LOCAL_URL = "http://infrai.bench"


@dataclass(frozen=True)
class Shape:
    """How many objects of each kind an account holds."""

    projects: int
    keys_per_project: int
    webhooks: int
    members: int
    alerts: int

    @property
    def keys(self) -> int:
        return self.projects * self.keys_per_project

    @property
    def total(self) -> int:
        return self.projects + self.keys + self.webhooks + self.members + self.alerts

    def counts(self) -> dict[str, int]:
        """Objects per kind name (the registry's names), as the floor computation needs them."""
        return {"project": self.projects, "api_key": self.keys, "webhook": self.webhooks,
                "member": self.members, "bandwidth_alert": self.alerts}

    @classmethod
    def of(cls, total: int) -> "Shape":
        """The standard mix for about `total` resources (exact for multiples of 100)."""
        projects = max(1, total // 100)
        webhooks = total * 5 // 100
        members = total * 3 // 100
        alerts = min(MAX_ALERTS, total // 100)
        keys_per_project = max(0, (total - projects - webhooks - members - alerts) // projects)
        return cls(projects, keys_per_project, webhooks, members, alerts)


def document(shape: Shape, prefix: str = "p", *, rate_limits: bool = True) -> dict[str, dict[str, Any]]:
    """The config as YAML-ready data, one document per file name.

    Every field a user would typically manage is declared (scopes, metadata, rate limits,
    events, roles), so the diff compares real values rather than empty objects.
    `rate_limits=False` leaves out `rate_limit_rpm`, which only a second call after the
    create can set: then every create is exactly one call (the apply benchmark's floor).
    """
    projects = []
    for p in range(shape.projects):
        project: dict[str, Any] = {
            "name": f"{prefix}{p:05d}",
            "scopes": ["account:read", "keys:write"],
            "metadata": {"team": f"team-{p % 17}", "env": ("prod", "staging", "dev")[p % 3], "cost_center": str(p)},
            "keys": [{"name": f"k{k:04d}", "scopes": ["account:read"] if k % 2 else ["account:read", "keys:write"]}
                     for k in range(shape.keys_per_project)],
        }
        if rate_limits:
            project["rate_limit_rpm"] = 600 + p
        projects.append(project)
    webhooks = [{"url": f"https://hooks.example.com/{prefix}/{w:05d}",
                 "events": ["budget.alert", "budget.exceeded"] if w % 2 else ["invoice.paid"],
                 "description": f"bench webhook {w}", "retry_policy": "default"}
                for w in range(shape.webhooks)]
    members = [{"email": f"{prefix}.user{m:05d}@example.com", "role": ROLES[m % len(ROLES)]}
               for m in range(shape.members)]
    alerts = [{"threshold": f"{a + 1}GiB", "enabled": True} for a in range(shape.alerts)]
    docs: dict[str, dict[str, Any]] = {"projects.yaml": {"version": 1, "projects": projects}}
    if webhooks:
        docs["webhooks.yaml"] = {"version": 1, "webhooks": webhooks}
    if members:
        docs["members.yaml"] = {"version": 1, "members": members}
    if alerts:
        docs["alerts.yaml"] = {"version": 1, "bandwidth_alerts": alerts}
    return docs


def write_config(shape: Shape, out: str | Path, prefix: str = "p", *, rate_limits: bool = True) -> Path:
    """Write the account's YAML files into directory `out` (created); return it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, doc in document(shape, prefix, rate_limits=rate_limits).items():
        # CSafeDumper when libyaml is there: 10,000 resources dump in a fraction of a second.
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        (out / name).write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False, default_flow_style=None))
    return out


def load_desired(config_dir: str | Path) -> DesiredState:
    return load_config([str(config_dir)])


@contextlib.contextmanager
def local_client(db_path: str, *, max_connections: int = 64) -> Iterator[InfraiClient]:
    """An InfraiClient on the emulator app in this process (the `--local` path)."""
    from reconcile.emulator.app import create_app

    app = create_app(db_path)
    key = app.state.emulator.bootstrap_secret
    with httpx.Client(transport=SyncASGITransport(app), base_url=LOCAL_URL) as http:
        with InfraiClient(LOCAL_URL, key, http=http, max_connections=max_connections) as client:
            try:
                yield client
            finally:
                app.state.emulator.store.conn.close()


def seed_db(db_path: str, desired: DesiredState, *, parallelism: int = 16) -> dict[str, Any]:
    """Make the emulator database at `db_path` match `desired` (plan + apply, in process).

    Returns what it did: resources created, requests and seconds. Raises if any step failed.
    """
    started = time.perf_counter()
    with local_client(db_path) as client:
        planned = make_plan(client, desired)
        report = apply_plan(client, planned.plan, planned.live, parallelism=parallelism)
        failed = [r for r in report.results if r.status.value not in ("succeeded",)]
        if failed:
            raise RuntimeError(f"seeding failed: {len(failed)} steps, first: {failed[0].change.address}: "
                               f"{failed[0].error}")
        again = make_plan(client, desired)
        if again.plan.has_changes:
            raise RuntimeError(f"seeded account does not match: {again.plan.summary()}")
    return {"changes": len(planned.plan.changes), "requests": report.requests,
            "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1000, help="about this many resources (default 1000)")
    parser.add_argument("--out", required=True, help="directory for the YAML files")
    parser.add_argument("--prefix", default="p", help="name prefix of projects, webhooks and members")
    parser.add_argument("--seed-db", help="also make this emulator database match the config")
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args(argv)
    shape = Shape.of(args.resources)
    out = write_config(shape, args.out, args.prefix)
    print(f"{shape.total} resources ({shape}) written to {out}")
    if args.seed_db:
        done = seed_db(args.seed_db, load_desired(out), parallelism=args.parallelism)
        print(f"seeded {args.seed_db}: {done['changes']} changes, {done['requests']} requests, "
              f"{done['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
