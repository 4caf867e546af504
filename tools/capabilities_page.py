"""docs/capabilities.md, generated: each of the API's capabilities and what the tool does with it.

Derived from the code that calls them — the kinds' endpoints (`KindSpec.api`), the live
reader's `whoami`, the facts impact analysis reads, `doctor`'s probes, `status`'s
reads, the `keys compromised` and `webhooks retry|replay` commands — plus the hand-kept table `reconcile.kinds.capabilities.HAND_KEPT` for
the rest. The capabilities themselves come from the OpenAPI document
(schemas/infrai-account-api.openapi.json, checked against the seed by
tests/emulator/test_openapi_document.py).

`python -m tools.capabilities_page` rewrites the page; `--check` exits 1 when it differs
from a fresh generation (tests/cli/test_capabilities.py runs it).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from reconcile.workflow.doctor import probed_paths
from reconcile.kinds import KINDS, KindSpec
from reconcile.kinds.capabilities import COMMAND, HAND_KEPT, MANAGES, NOT_USED, READS, USES, CapabilityUse
from reconcile.live.facts import _paths as fact_paths  # the facts' endpoints; their parameters do not matter here
from reconcile.live.reader import WHOAMI
from reconcile.workflow.keys import COMPROMISE
from reconcile.workflow import checks as check_calls
from reconcile.workflow import status as status_reads
from reconcile.workflow.webhooks import REPLAY, RETRY

ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = ROOT / "docs" / "capabilities.md"
OPENAPI_PATH = ROOT / "schemas" / "infrai-account-api.openapi.json"


@dataclass(frozen=True)
class Capability:
    name: str
    method: str
    path: str
    summary: str


def capabilities(openapi_path: Path = OPENAPI_PATH) -> list[Capability]:
    """Every operation of the OpenAPI document, by name."""
    doc = json.loads(openapi_path.read_text(encoding="utf-8"))
    found = [Capability(op["operationId"], method.upper(), path, op.get("summary", ""))
             for path, item in doc["paths"].items() for method, op in item.items()
             if isinstance(op, dict) and "operationId" in op]
    return sorted(found, key=lambda c: c.name)


def _route(method: str, path: str) -> tuple[str, str]:
    """`{id}`, `{project_id}`… all match: the placeholder's name is not part of the route."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


def _fields(kind: KindSpec) -> str:
    spelling = {name: alias for alias, name in kind.config_aliases.items()}
    names = [spelling.get(n, n) for n, f in kind.managed_fields.items()
             if f.updatable and not f.write_only and n not in kind.identity]
    return ", ".join(f"`{n}`" for n in names)


def derived_uses() -> dict[tuple[str, str], list[CapabilityUse]]:
    """(method, route) → what the code does with it, from the code's own data."""
    uses: dict[tuple[str, str], list[CapabilityUse]] = {}

    def add(method: str, path: str, use: str, what: str) -> None:
        uses.setdefault(_route(method, path), []).append(CapabilityUse(use, what))

    for kind in KINDS:
        api, key = kind.api, f"`{kind.config_key}`"
        add(api.list.method, api.list.path, READS, f"{key}: the live state for plan, apply and export")
        if api.create is not None:
            add(api.create.method, api.create.path, MANAGES, f"{key}: creates a declared {kind.title} missing live")
        if api.update is not None:
            how = "" if kind.singleton else " in place"
            add(api.update.method, api.update.path, MANAGES, f"{key}: sets {_fields(kind)}{how}")
        if api.delete is not None:
            add(api.delete.method, api.delete.path, MANAGES,
                f"{key}: deletes (to replace one, or an undeclared one under `--prune`)")
        if api.rotate is not None:
            add(api.rotate.method, api.rotate.path, MANAGES, f"{key}: rotates (`rotate_after`, `--replace`)")
    add("GET", WHOAMI, READS, "the calling key and project (never pruned) and the API's clock (`rotate_after`)")
    for fact, (path, _) in sorted(fact_paths(datetime(2000, 1, 1, tzinfo=timezone.utc)).items()):
        add("GET", path, READS, f"impact analysis: the `{fact}` fact (docs/impact.md)")
    for method, path in probed_paths():
        add(method, path, READS, "`reconcile doctor`: checks the answer against what the tool assumes (docs/doctor.md)")
    add("POST", COMPROMISE, COMMAND, "`reconcile keys compromised ADDRESS`: revokes and re-issues a leaked key")
    for path in status_reads.read_paths():
        add("GET", path, READS, "`reconcile status`: the account's health (docs/status.md)")
    add("POST", check_calls.ROUTING_TEST, READS, "checks: routing expectations asserted, and a routing change "
                                                 "previewed with `chain_override` (docs/checks.md)")
    add("GET", check_calls.USAGE, READS, "checks: a routing change is previewed for each capability in use this "
                                         "period (`by_capability`; docs/checks.md)")
    add("POST", check_calls.WEBHOOK_TEST, READS, "checks: a test event to a `reachable: true` webhook after apply "
                                                 "creates or changes it (docs/checks.md)")
    add("GET", check_calls.DELIVERIES, READS, "checks: the test delivery's status, and the recent deliveries' "
                                              "failure rate in plans (docs/checks.md)")
    add("POST", check_calls.TEST_CHARGE, READS, "checks: with `checks.autorecharge.test_charge: true`, a real $1 "
                                                "test authorisation after apply changes auto-recharge (docs/checks.md)")
    add("POST", RETRY, COMMAND, "`reconcile webhooks retry ADDRESS`: re-sends failed deliveries (docs/status.md)")
    add("POST", REPLAY, COMMAND, "`reconcile webhooks replay ADDRESS`: re-sends past deliveries (docs/status.md)")
    return uses


def table(caps: Sequence[Capability] | None = None) -> dict[str, list[CapabilityUse]]:
    """Each capability → its uses: the derived ones, else its hand-kept entry (maybe none)."""
    derived = derived_uses()
    out: dict[str, list[CapabilityUse]] = {}
    for cap in caps if caps is not None else capabilities():
        found = derived.get(_route(cap.method, cap.path), [])
        out[cap.name] = found if found else ([HAND_KEPT[cap.name]] if cap.name in HAND_KEPT else [])
    return out


def problems(caps: Sequence[Capability] | None = None) -> list[str]:
    """Why the table is wrong (empty: it is right): gaps, unknown names, entries the code covers."""
    caps = list(caps if caps is not None else capabilities())
    names = {c.name for c in caps}
    derived = derived_uses()
    covered = {c.name for c in caps if _route(c.method, c.path) in derived}
    out = [f"{n}: neither the code nor HAND_KEPT says what the tool does with it"
           for n in sorted(names - covered - set(HAND_KEPT))]
    out += [f"HAND_KEPT names {n}, which the API does not have" for n in sorted(set(HAND_KEPT) - names)]
    out += [f"HAND_KEPT repeats {n}, which the code already uses: remove the entry" for n in sorted(set(HAND_KEPT) & covered)]
    out += [f"HAND_KEPT[{n!r}].use is {u.use!r}, not one of {USES}" for n, u in HAND_KEPT.items() if u.use not in USES]
    routes = {_route(c.method, c.path) for c in caps}
    out += [f"the code calls {m} {p}, which is no capability" for m, p in sorted(set(derived) - routes)]
    return out


_RANK = {MANAGES: 0, COMMAND: 1, READS: 2, NOT_USED: 3}


def primary(uses: Sequence[CapabilityUse]) -> str:
    return min((u.use for u in uses), key=_RANK.__getitem__, default=NOT_USED)


HEADER = """# What the tool does with each API capability

<!-- Generated by `python -m tools.capabilities_page` from the kinds registry, the code's
     other calls and the hand-kept table in reconcile/kinds/capabilities.py; do not edit.
     tests/cli/test_capabilities.py fails when this page is out of date. -->

The Infrai account API has {total} capabilities
([OpenAPI document](../schemas/infrai-account-api.openapi.json)). For each, what this tool
does with it:

- **manages**: declared in the config, called by `apply` (which kind and which fields);
- **reads**: called read-only, for plan and export, impact analysis, `reconcile status` or `reconcile doctor`;
- **command**: called only by an imperative command you run on purpose;
- **not used**: never called, with the reason.

Nothing that moves money by itself (a top-up, a test charge, a payment retry) or ends the
subscription is ever called, and a webhook delivery is re-sent only by the command you run
for it (`reconcile webhooks retry|replay`, after a confirmation); what is billed (a tier upgrade,
auto-recharge) is billed only because the config declares it.

| use | capabilities |
|---|---|
"""


def generate() -> str:
    caps = capabilities()
    uses = table(caps)
    by_primary = {u: [c for c in caps if primary(uses[c.name]) == u] for u in USES}
    lines = [HEADER.format(total=len(caps)).rstrip("\n")]
    lines += [f"| {u} | {len(by_primary[u])} |" for u in USES]
    for use in USES:
        if not by_primary[use]:
            continue
        lines += ["", f"## {use.capitalize()}", "", "| capability | call | what the tool does |", "|---|---|---|"]
        for cap in by_primary[use]:
            what = "<br>".join(f"**{u.use}** {u.what}" if u.use != use else u.what for u in uses[cap.name])
            lines.append(f"| `{cap.name}` | `{cap.method} {cap.path}` | {what} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    wrong = problems()
    if wrong:
        print("reconcile/kinds/capabilities.py is wrong:\n  " + "\n  ".join(wrong), file=sys.stderr)
        return 1
    text = generate()
    if "--check" in args:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is out of date: run python -m tools.capabilities_page", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
