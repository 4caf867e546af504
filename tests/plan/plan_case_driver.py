"""Run one planner case file (tests/plan_cases/<kind>/<case>.yaml) through the real pipeline.

A case is data: the config as a user writes it, the raw live items as the API returns them,
the options, and what the plan must be. Each goes through the code a user's run goes
through: the config through `load_config`, the live items through `read_live` (the live
package's normalisation, fed by a fake client that answers the list calls from the case),
then `make_plan` (renames, ownership, planner, threshold warnings, impacts) and
`check_plan` (protect, replaced parents, thresholds unless `force`).

The format (checked against tests/plan_cases/case.schema.json; a bad file fails naming its
file:line):

    description: what the case shows
    config: |                       # YAML text, loaded from a file like a user's
      projects: [{name: web}]
    env: {HOOK_SECRET: ...}         # for ${env:NAME} in the config
    live:                           # raw API answers by kind name (omitted kinds: empty,
      project: [{id: p1, ...}]      #   singletons: a fresh account's answer)
      tier: {tier: pro, ...}
    whoami: {caller: {key_id: k1, project_id: p0}}   # default: no caller key or project
    facts: {/v1/account/balance: {...}}              # fact GETs for impacts (others: 404)
    options: {prune: [projects], targets: [], replace: [], force: false}
    expect:
      changes:                      # every change, in plan order
        - address: projects.web
          action: update            # address and action always compared; any other key
          diffs:                    #   given (diffs, reasons, depends_on, live_id,
            - {path: scopes, before: [], after: [keys:write]}   # moved_from, irreversible,
      unmanaged: [{address: ..., reason: ..., drift: true}]     # actions, after) is too
      warnings: [substring of warning 1, ...]   # one per warning, in order; [] = none
      summary: "Plan: ..."
      error: {type: ProtectedDelete, message: substring}       # instead of changes

On a mismatch the test fails with a unified diff of the expected and actual plan, both
shown in the case's own shape (only the keys the case states).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reconcile import errors
from reconcile.config import load_config
from reconcile.config.yaml_loader import read_yaml_file
from reconcile.workflow.engine import check_plan, make_plan, prune_kinds
from reconcile.errors import ApiStatusError, ConfigError, ReconcileError
from reconcile.kinds import REGISTRY
from reconcile.plan import Plan
from reconcile.plan.ownership import OwnershipConflict

CASES = Path(__file__).resolve().parents[1] / "plan_cases"
SCHEMA = CASES / "case.schema.json"
# The API's clock in every case: rotation ages are counted from it, never from the wall clock.
SERVER_TIME = "2026-06-01T00:00:00Z"
# What a fresh account answers for each singleton (reconcile/emulator/store.py).
FRESH_SINGLETONS: dict[str, dict[str, Any]] = {
    "tier": {"tier": "standard", "pending_tier": None, "pending_effective_at": None, "limits": {},
             "billing_period": "monthly"},
    "budget": {"period": "monthly", "hard_cap_usd": None, "alert_threshold_usd": None},
    "routing": {"chain_override": None, "failover_policy": "sequential", "pinned_vendors": []},
    "autorecharge": {"enabled": False, "trigger_balance": 0, "recharge_amount": 0, "payment_method_id": None,
                     "max_per_day": 3, "max_per_month": 20},
}
ERRORS = {"OwnershipConflict": OwnershipConflict, **{n: getattr(errors, n) for n in (
    "ValidationError", "ConfigError", "ProtectedDelete", "TooMuchChange", "UnsafePlan", "ReconcileError")}}


_CONFIG_PATH = re.compile(r"\S*/infrai\.yaml")


class MalformedCase(Exception):
    """A case file that is not in the format above; the message names file:line."""


@dataclass(frozen=True)
class Case:
    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.path.relative_to(CASES).with_suffix(""))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    # The kinds a case may give live answers for are the registry's, not a copy of them.
    schema["properties"]["live"]["propertyNames"] = {"enum": list(REGISTRY)}
    return jsonschema.Draft202012Validator(schema)


def case_files() -> list[Path]:
    return sorted(CASES.glob("*/*.yaml"))


def load_case(path: Path) -> Case:
    """The case, or MalformedCase naming file:line of each problem (the schema's, and a
    case filed under a directory that is not a kind)."""
    try:
        doc = read_yaml_file(path)
    except ConfigError as exc:  # not YAML: the message holds file:line:column
        raise MalformedCase(str(exc)) from None
    problems = []
    for e in sorted(_validator().iter_errors(doc.value), key=lambda e: list(map(str, e.absolute_path))):
        where = doc.position(tuple(e.absolute_path))
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            # At the unexpected key itself, not at the mapping holding it.
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            where = doc.position((*e.absolute_path, extra[0]), key=True) if extra else where
        problems.append(f"{where}: {e.message}")
    if path.parent.name not in REGISTRY:
        problems.append(f"{path}:1: filed under {path.parent.name!r}, which is not a kind "
                        f"(one of {', '.join(REGISTRY)})")
    if problems:
        raise MalformedCase("\n".join(problems))
    return Case(path, doc.value)


class CaseClient:
    """Answers `read_live`'s list and singleton calls, and fact GETs, from the case."""

    base_url = "https://case.invalid"

    def __init__(self, case: dict[str, Any]):
        live = case.get("live") or {}
        self.lists: dict[str, Any] = {}
        for spec in REGISTRY.values():
            # A singleton the table does not know (a kind added since) answers as an account
            # that says nothing: an empty object, so a new kind needs no edit here.
            default = FRESH_SINGLETONS.get(spec.name, {}) if spec.singleton else []
            self.lists[spec.api.list.path] = live.get(spec.name, default)
        self.gets = {"/v1/account/whoami": {"server_time": SERVER_TIME, "caller": {}, **(case.get("whoami") or {})},
                     **(case.get("facts") or {})}
        self.request_count = 0

    def get(self, path: str, **params: Any) -> Any:
        self.request_count += 1
        if path in self.lists:
            return self.lists[path]
        if path in self.gets:
            return self.gets[path]
        raise ApiStatusError(404, "not_found", f"{path} is not in the case", "GET", self.base_url + path)

    def list_all(self, path: str, *, params: Any = None, paginated: bool = True, page_size: int = 1000) -> list[dict]:
        self.request_count += 1
        return self.lists[path]


def run_case(case: Case, tmp: Path) -> tuple[Plan | None, ReconcileError | None]:
    """The plan the case's inputs make, or the error the pipeline raises for them."""
    data = case.data
    config = tmp / "infrai.yaml"
    config.write_text(data["config"])
    options = data.get("options") or {}
    try:
        desired = load_config([config], env=data.get("env") or {})
        planned = make_plan(CaseClient(data), desired, prune=prune_kinds(options.get("prune") or ()),
                            targets=tuple(options.get("targets") or ()),
                            replace=tuple(options.get("replace") or ()), parallelism=2)
        check_plan(planned, force=bool(options.get("force")))
    except ReconcileError as exc:
        return None, exc
    return planned.plan, None


def _change_shape(change: Any, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"address": change.address, "action": change.action.value}
    for key in keys:
        if key == "diffs":
            out["diffs"] = [d.to_data() for d in change.diffs]  # masked as users see them
        elif key in ("reasons", "depends_on", "actions"):
            out[key] = list(getattr(change, key))
        elif key == "after":
            out["after"] = change.to_data()["after"]  # masked, secrets named by their variable
        elif key not in out:
            out[key] = getattr(change, key)
    return out


def actual_in_case_shape(expect: dict[str, Any], plan: Plan | None, error: ReconcileError | None) -> dict[str, Any]:
    """The actual outcome, holding just the keys `expect` states (so the diff is readable)."""
    if error is not None or plan is None:
        message = _CONFIG_PATH.sub("infrai.yaml", str(error))  # the case's config, wherever it was written
        wanted = expect.get("error", {}).get("message", "")
        return {"error": {"type": type(error).__name__, "message": wanted if wanted and wanted in message else message}}
    out: dict[str, Any] = {}
    wanted_changes = expect.get("changes", [])
    out["changes"] = [_change_shape(c, [k for k in (wanted_changes[i] if i < len(wanted_changes) else {})
                                        if k not in ("address", "action")])
                      for i, c in enumerate(plan.changes)]
    if "unmanaged" in expect:
        wanted = expect["unmanaged"]
        out["unmanaged"] = [{k: getattr(u, k) for k in ("address", *(k for k in (wanted[i] if i < len(wanted) else {})
                                                                      if k != "address"))}
                            for i, u in enumerate(plan.unmanaged)]
    if "warnings" in expect:
        wanted = expect["warnings"]
        out["warnings"] = [wanted[i] if i < len(wanted) and wanted[i] in w else w for i, w in enumerate(plan.warnings)]
    if "summary" in expect:
        out["summary"] = plan.summary()
    if "partial" in expect:
        out["partial"] = plan.partial
    return out


def leaked_secrets(case: Case, plan: Plan | None, error: ReconcileError | None) -> list[str]:
    """The case's env values (its secrets) found in what a plan shows: its data, or the error."""
    shown = json.dumps(plan.to_data(), default=str) if plan is not None else str(error)
    return sorted(name for name, value in (case.data.get("env") or {}).items() if value and value in shown)


def mismatch(case: Case, plan: Plan | None, error: ReconcileError | None) -> str | None:
    """None when the outcome is the expected one, else a unified diff saying how it differs."""
    expect = case.data["expect"]
    actual = actual_in_case_shape(expect, plan, error)
    wanted = {"error": expect["error"]} if "error" in expect else expect
    if "error" in expect and isinstance(error, ERRORS[expect["error"]["type"]]):
        actual["error"]["type"] = expect["error"]["type"]  # a subclass is the expected error
    if actual == wanted:
        return None
    dump = lambda value: yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100).splitlines()  # noqa: E731
    return "\n".join(difflib.unified_diff(dump(wanted), dump(actual), f"{case.path} (expected)", "actual plan",
                                          lineterm=""))


def describe(plan: Plan | None, error: ReconcileError | None) -> dict[str, Any]:
    """Everything a case can state about an outcome (for writing a new case)."""
    if error is not None or plan is None:
        return {"error": {"type": type(error).__name__, "message": str(error)}}
    return {"changes": [_change_shape(c, ["diffs", "reasons", "depends_on", "live_id", "moved_from", "irreversible"])
                        for c in plan.changes],
            "unmanaged": [{"address": u.address, "reason": u.reason, "drift": u.drift} for u in plan.unmanaged],
            "warnings": list(plan.warnings), "summary": plan.summary(), "partial": plan.partial}


if __name__ == "__main__":  # `python tests/plan/plan_case_driver.py CASE.yaml...`: print what each plans
    import sys
    import tempfile

    for name in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            outcome = describe(*run_case(load_case(Path(name).resolve()), Path(tmp)))
        print(f"# {name}\n" + yaml.safe_dump(outcome, sort_keys=False, allow_unicode=True, width=100))
