"""Generate the OpenAPI 3.1 document of the Infrai account API (all 56 capabilities).

Inputs: `../shared/infrai-account-api.json` beside the repository (the seed transcribed as
data: methods, paths, parameters, return lines) and the tables below, which encode
`docs/emulator.md` (the contract): response shapes, parameter constraints and error
statuses. Outputs, byte-identical:

- `schemas/infrai-account-api.openapi.json`, the committed source of truth;
- `reconcile/emulator/openapi.json`, package data the emulator serves at `/openapi.json`.

Run from anywhere: `python schemas/generate_openapi.py` (writes both) or `--check` (exit 1 if
either is stale). CI never needs `../shared`: it only reads the committed files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CAPABILITIES_JSON = REPO.parent / "shared" / "infrai-account-api.json"
OUTPUTS = (REPO / "schemas" / "infrai-account-api.openapi.json", REPO / "reconcile" / "emulator" / "openapi.json")

Schema = dict[str, Any]

# --- vocabularies (docs/emulator.md) ---------------------------------------------------------
SCOPES = ["account:read", "projects:write", "keys:write", "webhooks:write", "members:write",
          "billing:write", "routing:write", "bandwidth:write"]
EVENTS = ["balance.low", "budget.alert", "budget.exceeded", "key.created", "key.rotated", "key.revoked",
          "key.compromised", "topup.succeeded", "topup.failed", "invoice.created", "invoice.paid",
          "autorecharge.succeeded", "autorecharge.failed", "bandwidth.alert", "member.invited",
          "member.joined", "subscription.updated", "tier.changed", "webhook.test"]
ROLES = ["admin", "developer", "viewer", "billing-ops", "kyc-ops"]
VENDORS = ["openai", "anthropic", "google", "mistral", "cohere", "deepseek", "groq", "together",
           "azure-openai", "aws-bedrock"]
TIERS = ["standard", "pro", "team", "enterprise"]
ERROR_CODES = ["VALIDATION_ERROR", "INVALID_JSON", "UNSAFE_URL", "UNAUTHENTICATED", "INSUFFICIENT_CREDIT",
               "BUDGET_EXCEEDED", "INSUFFICIENT_SCOPE", "NOT_FOUND", "METHOD_NOT_ALLOWED", "CONFLICT",
               "IDEMPOTENCY_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED", "INTERNAL", "UNAVAILABLE"]
# Body copies of the path id (seed-notes 2): optional, must equal the path id.
PATH_ID_COPIES = {"project_id", "key_id", "webhook_id", "invoice_id", "member_id", "alert_id"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    kind = schema["type"]
    result = {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """A response object: every documented field required except `optional`, extras allowed."""
    return {"type": "object", "required": [name for name in properties if name not in optional],
            "properties": properties}


STRING: Schema = {"type": "string"}
NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ANY: Schema = {}


def prefixed(prefix: str) -> Schema:
    return {"type": "string", "pattern": f"^{prefix}"}


def enum(values: list[str]) -> Schema:
    return {"type": "string", "enum": values}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


# --- response shapes (docs/emulator.md "Resources"; seed return lines otherwise) -------------
COMPONENTS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {**STRING, "description": "One of: " + ", ".join(ERROR_CODES)},
                           "message": STRING, "field": STRING},
        }},
    },
    "Project": obj({"id": prefixed("proj_"), "name": STRING, "scopes": array(enum(SCOPES)),
                    "metadata": {"type": "object"}, "rate_limit_rpm": nullable(INTEGER), "created_at": TIMESTAMP}),
    "ApiKey": obj({"key_id": prefixed("key_"), "name": STRING, "label": STRING, "project_id": prefixed("proj_"),
                   "scopes": array(enum(SCOPES)), "status": enum(["active", "revoked", "flagged"]),
                   "created_at": TIMESTAMP, "last_rotated_at": nullable(TIMESTAMP),
                   "grace_expires_at": nullable(TIMESTAMP),
                   "key_secret": {"type": "string", "pattern": "^ifr_pk_proj_[0-9A-Za-z]{40}$"}},
                  optional=("key_secret",)),
    "ApiKeyWithSecret": {"allOf": [ref("ApiKey"), {"required": ["key_secret"]}]},
    "Webhook": obj({"id": prefixed("wh_"), "url": STRING, "events": array(enum(EVENTS), minItems=1),
                    "description": STRING, "active": BOOLEAN, "retry_policy": enum(["default", "aggressive"]),
                    "headers": {"type": "object", "additionalProperties": STRING}, "created_at": TIMESTAMP}),
    "WebhookWithSecret": {"allOf": [ref("Webhook"), {"required": ["secret"],
                                                      "properties": {"secret": {**STRING, "minLength": 8}}}]},
    "WebhookDelivery": obj({"delivery_id": prefixed("dlv_"), "status_code": nullable(INTEGER), "ok": BOOLEAN}),
    "Member": obj({"member_id": prefixed("mem_"), "email": STRING, "role": enum([*ROLES, "owner"]),
                   "status": STRING, "invited_at": TIMESTAMP}),
    "BandwidthAlert": obj({"id": prefixed("bwa_"), "threshold_bytes": INTEGER, "enabled": BOOLEAN,
                           "created_at": TIMESTAMP}),
    "BandwidthQuota": obj({"period": ANY, "limit_bytes": INTEGER, "used_bytes": INTEGER,
                           "remaining_bytes": INTEGER}),
    "BandwidthUsage": obj({"period": ANY, "ingress_bytes": INTEGER, "egress_bytes": INTEGER}),
    "BudgetConfig": obj({"period": enum(["daily", "monthly"]), "hard_cap_usd": nullable(NUMBER),
                         "alert_threshold_usd": nullable(NUMBER)}),
    "RoutingConfig": obj({"chain_override": nullable(array(enum(VENDORS))), "failover_policy": enum(["sequential"]),
                          "pinned_vendors": array(enum(VENDORS))}),
    "RoutingTestResult": obj({"capability": STRING, "resolved_chain": array(enum(VENDORS)),
                              "selected_vendor": enum(VENDORS)}),
    "AutorechargeConfig": obj({"enabled": BOOLEAN, "trigger_balance": NUMBER, "recharge_amount": NUMBER,
                               "payment_method_id": nullable(STRING), "max_per_day": INTEGER,
                               "max_per_month": INTEGER}),
    "TestChargeResult": obj({"ok": BOOLEAN, "charged_usd": nullable(NUMBER), "failure_reason": nullable(STRING)}),
    "TierInfo": obj({"tier": enum(TIERS),
                     "limits": obj({name: INTEGER for name in ("requests_per_minute", "projects", "keys_per_project",
                                                               "webhooks", "members", "bandwidth_bytes")}),
                     "billing_period": ANY, "pending_tier": nullable(enum(TIERS)),
                     "pending_effective_at": nullable(TIMESTAMP)}),
    "AccountSummary": obj({"account_id": prefixed("acct_"), "kind": ANY, "status": ANY, "tier": enum(TIERS),
                           "balance_usd": NUMBER}),
    "TierUpgradeResult": {"allOf": [ref("AccountSummary"), {"required": ["checkout_url"],
                                                             "properties": {"checkout_url": nullable(STRING)}}]},
    "SubscriptionInfo": obj({"status": STRING, "tier": enum(TIERS), "current_period_end": nullable(TIMESTAMP),
                             "cancel_at_period_end": BOOLEAN}),
    "Balance": obj({"balance_usd": NUMBER, "currency": STRING}),
    "WalletRestoreResult": obj({"account_id": prefixed("acct_"), "restored": BOOLEAN, "balance_usd": NUMBER}),
    "TopupRecord": obj({"topup_id": prefixed("top_"), "amount_usd": NUMBER, "state": STRING,
                        "next_action_url": nullable(STRING)}),
    "Invoice": obj({"id": prefixed("inv_"), "period": ANY, "total_usd": NUMBER, "status": STRING,
                    "line_items": {"type": "array"}, "pdf_url": nullable(STRING)}),
    "AccountPaymentMethod": obj({"id": prefixed("pm_"), "brand": STRING, "last4": {**STRING, "pattern": "^[0-9]{4}$"},
                                 "is_default": BOOLEAN}),
    # The seed names these item types without listing their fields.
    "PaymentFailure": {"type": "object"},
    "Transaction": {"type": "object"},
    "UsageSummary": obj({"period": ANY, "spend_usd": NUMBER, "requests": INTEGER,
                         "by_capability": {"type": ["object", "array"]}}),
    "UsageForecast": obj({"period": ANY, "projected_spend_usd": NUMBER, "confidence": ANY}),
    "UsageTimeseries": obj({"granularity": enum(["hour", "day", "month"]),
                            "points": array(obj({"ts": TIMESTAMP, "spend_usd": NUMBER, "requests": INTEGER}))}),
    "UsageExport": obj({"export_id": prefixed("exp_"), "status": STRING, "download_url": nullable(STRING)}),
}

# The seed's return line (up to its first space or brace) -> component. Lists are handled by
# `response_schema`; a few capabilities return more than the shared shape (overrides).
RETURN_TYPES = {name: name for name in COMPONENTS if name != "Error"}
RETURN_OVERRIDES = {
    "account.keys.create": "ApiKeyWithSecret",
    "account.keys.rotate": "ApiKeyWithSecret",
    "account.webhooks.register": "WebhookWithSecret",
    "account.tier.upgrade": "TierUpgradeResult",
    "account.balance": "Balance",
    "account.keys.list": "ApiKey",  # items: one ApiKey shape everywhere (seed-notes 5)
}
FLAG_RESULT = re.compile(r"^\{ (deleted|revoked|removed): boolean \}$")
LIST_RESULT = re.compile(r"^\{ items: Array<(\w+|\{[^}]*\})>(, next_cursor\?)?(, default_id\?)? \}$")


def response_schema(cap: dict[str, Any]) -> Schema:
    returns: str = cap["returns"]
    if m := FLAG_RESULT.match(returns):
        return obj({m.group(1): BOOLEAN})
    if m := LIST_RESULT.match(returns):
        item = RETURN_OVERRIDES.get(cap["name"]) or RETURN_TYPES[m.group(1)]
        page: Schema = obj({"items": array(ref(item))})
        if m.group(2):
            page["properties"]["next_cursor"] = nullable(STRING)  # absent or null on the last page
        if m.group(3):
            page["properties"]["default_id"] = nullable(STRING)
            page["required"].append("default_id")
        return page
    name = RETURN_OVERRIDES.get(cap["name"]) or RETURN_TYPES[returns.split(" ", 1)[0]]
    return ref(name)


# --- parameters (types from the seed, constraints from the contract) --------------------------
PARAM_SCHEMAS: dict[str, Schema] = {
    "cursor": STRING,  # empty means the first page
    "limit": {**INTEGER, "minimum": 1, "maximum": 1000, "default": 100},
    "scopes": array(enum(SCOPES)),
    "metadata": {"type": "object", "maxProperties": 64},
    "rate_limit_rpm": {**INTEGER, "minimum": 1, "maximum": 1_000_000},
    "grace_hours": {**NUMBER, "minimum": 0, "maximum": 168, "default": 24},
    "threshold_bytes": {**INTEGER, "minimum": 1, "maximum": 2**53},
    "role": enum(ROLES),
    "email": {**STRING, "format": "email", "maxLength": 254},
    "hard_cap_usd": nullable({**NUMBER, "minimum": 0}),
    "alert_threshold_usd": nullable({**NUMBER, "minimum": 0}),
    "trigger_balance": {**NUMBER, "minimum": 0, "maximum": 100_000},
    "recharge_amount": {**NUMBER, "minimum": 5, "maximum": 10_000},
    "max_per_day": {**INTEGER, "minimum": 1, "maximum": 100, "default": 3},
    "max_per_month": {**INTEGER, "minimum": 1, "maximum": 100, "default": 20},
    "payment_method_id": {**STRING, "minLength": 1},
    "chain_override": nullable(array(enum(VENDORS), uniqueItems=True)),
    "pinned_vendors": array(enum(VENDORS), uniqueItems=True),
    "target_tier": enum(TIERS),
    "events": array(enum(EVENTS), minItems=1),
    "description": {**STRING, "maxLength": 256},
    "secret": {**STRING, "minLength": 8, "maxLength": 256},
    "url": {**STRING, "minLength": 1, "maxLength": 2048},
    "headers": {"type": "object", "maxProperties": 20, "additionalProperties": {**STRING, "maxLength": 1024}},
    "idempotency_key": {**STRING, "minLength": 1, "maxLength": 255},
}
# Per capability, where one name means different things.
PARAM_OVERRIDES: dict[tuple[str, str], Schema] = {
    ("account.projects.create", "name"): {**STRING, "minLength": 1, "maxLength": 128},
    ("account.projects.update", "name"): {**STRING, "minLength": 1, "maxLength": 128},
    ("account.keys.create", "name"): {**STRING, "minLength": 1, "maxLength": 128},
    ("account.keys.update", "name"): {**STRING, "minLength": 1, "maxLength": 128},
    ("account.topup", "amount_usd"): {**NUMBER, "minimum": 1, "maximum": 10_000},
}
# Extensions the contract adds to the seed's parameter tables.
EXTRA_PARAMS: dict[str, list[dict[str, Any]]] = {
    "account.keys.list": [
        {"name": "project_id", "type": "string", "required": False, "description": "Only this project's keys."},
        {"name": "include_revoked", "type": "boolean", "required": False, "description": "Default false."},
        {"name": "cursor", "type": "string", "required": False, "description": "Page cursor."},
        {"name": "limit", "type": "number", "required": False, "description": "Page size."},
    ],
    "account.bandwidth.alerts.configure": [
        {"name": "enabled", "type": "boolean", "required": False, "description": "Default true."}],
    "account.autorecharge.configure": [
        {"name": "enabled", "type": "boolean", "required": False, "description": "Default true."}],
}
# The seed's example spellings accepted as aliases (seed-notes 1): not required then.
ALIASED_REQUIRED = {("account.tier.upgrade", "target_tier"), ("account.topup", "amount_usd")}
SEED_TYPES: dict[str, Schema] = {"string": STRING, "number": NUMBER, "boolean": BOOLEAN,
                                 "string[]": array(STRING), "Record<string, unknown>": {"type": "object"},
                                 "Record<string, string>": {"type": "object", "additionalProperties": STRING}}


def param_schema(cap_name: str, param: dict[str, Any]) -> Schema:
    name = param["name"]
    if (cap_name, name) in PARAM_OVERRIDES:
        return PARAM_OVERRIDES[(cap_name, name)]
    if name in PARAM_SCHEMAS:
        return PARAM_SCHEMAS[name]
    seed_type: str = param["type"]
    if seed_type.startswith('"'):
        return enum(re.findall(r'"([^"]+)"', seed_type))
    return SEED_TYPES[seed_type]


# --- errors ---------------------------------------------------------------------------------
ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR, INVALID_JSON or UNSAFE_URL",
    401: "UNAUTHENTICATED: missing, unknown, revoked or expired secret",
    402: "INSUFFICIENT_CREDIT or BUDGET_EXCEEDED (or a declined payment)",
    403: "INSUFFICIENT_SCOPE",
    404: "NOT_FOUND: unknown id or one of another account",
    409: "CONFLICT (uniqueness, illegal transition) or IDEMPOTENCY_IN_PROGRESS",
    422: "IDEMPOTENCY_KEY_REUSED",
    429: "RATE_LIMITED: project rate limit exceeded (Retry-After header)",
    500: "INTERNAL (fault injection only)",
    503: "UNAVAILABLE (fault injection only)",
}
PAYMENT_CAPABILITIES = {"account.topup", "account.autorecharge.test_charge", "account.subscription.retry_payment",
                        "account.tier.upgrade", "account.wallet.restore"}
# Capabilities taking ids other than the path id, which may be unknown (404).
OTHER_ID_PARAMS = {"project_id", "payment_method_id", "delivery_id"}


def error_statuses(cap: dict[str, Any], params: list[dict[str, Any]]) -> list[int]:
    statuses = {400, 401, 403, 429, 500, 503}
    if "{id}" in cap["path"] or any(p["name"] in OTHER_ID_PARAMS for p in params):
        statuses.add(404)
    if cap["method"] != "GET":
        statuses |= {409, 422}  # IDEMPOTENCY_IN_PROGRESS / _KEY_REUSED on every mutating call
    if cap["name"] in PAYMENT_CAPABILITIES:
        statuses.add(402)
    return sorted(statuses)


# --- assembly -------------------------------------------------------------------------------
def operation(cap: dict[str, Any]) -> tuple[str, str, Schema]:
    name, method, path = cap["name"], cap["method"], cap["path"]
    has_path_id = "{id}" in path
    mutating = method != "GET"
    params = [p for p in cap["params"] + EXTRA_PARAMS.get(name, [])
              if not (has_path_id and method in ("GET", "DELETE") and p["name"] in PATH_ID_COPIES)]
    if mutating and not any(p["name"] == "idempotency_key" for p in params):
        params.append({"name": "idempotency_key", "type": "string", "required": False,
                       "description": "Accepted on every mutating call (seed-notes 9)."})
    parameters: list[Schema] = []
    if has_path_id:
        parameters.append({"name": "id", "in": "path", "required": True, "schema": {**STRING, "minLength": 1}})
    if mutating:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": PARAM_SCHEMAS["idempotency_key"],
                           "description": "Wins over a body/query idempotency_key; differing values are a 400."})
    op: Schema = {
        "operationId": name,
        "tags": [name.split(".")[1]],
        "summary": cap["summary"],
        "description": f"{cap['doc']}\n\nSeed return line: `{cap['returns']}`",
        "security": [{"bearerAuth": []}],
    }
    if method in ("GET", "DELETE"):
        parameters += [{"name": p["name"], "in": "query",
                        "required": p["required"] and (name, p["name"]) not in ALIASED_REQUIRED,
                        "description": p["description"], "schema": param_schema(name, p)} for p in params]
    else:
        required = [p["name"] for p in params if p["required"] and p["name"] not in PATH_ID_COPIES
                    and (name, p["name"]) not in ALIASED_REQUIRED]
        body: Schema = {"type": "object",
                        "properties": {p["name"]: {**param_schema(name, p), "description": p["description"]}
                                       for p in params}}
        if required:
            body["required"] = required
        op["requestBody"] = {"required": bool(required), "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    responses: Schema = {"200": {"description": "Success.",
                                 "content": {"application/json": {"schema": response_schema(cap)}}}}
    for status in error_statuses(cap, params):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    op["responses"] = responses
    return path, method.lower(), op


def build(capabilities_doc: dict[str, Any]) -> Schema:
    paths: dict[str, Schema] = {}
    for cap in sorted(capabilities_doc["capabilities"], key=lambda c: c["name"]):
        path, method, op = operation(cap)
        paths.setdefault(path, {})[method] = op
    responses = {f"E{status}": {"description": text,
                                "content": {"application/json": {"schema": ref("Error")}}}
                 for status, text in ERROR_DESCRIPTIONS.items()}
    responses["E429"]["headers"] = {"Retry-After": {"schema": INTEGER, "description": "Seconds to wait."}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Infrai account API", "version": "1.0.0",
                 "description": "All 56 capabilities of the Infrai account API as the emulator implements them; "
                                "docs/emulator.md is the contract. Generated by schemas/generate_openapi.py."},
        "servers": [{"url": capabilities_doc["base_url"]}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": COMPONENTS,
            "responses": responses,
        },
    }


def render(document: Schema) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if an output is not current")
    args = parser.parse_args(argv)
    text = render(build(json.loads(CAPABILITIES_JSON.read_text(encoding="utf-8"))))
    stale = [out for out in OUTPUTS if not out.exists() or out.read_text(encoding="utf-8") != text]
    if args.check:
        for out in stale:
            print(f"stale: {out.relative_to(REPO)} (run python schemas/generate_openapi.py)", file=sys.stderr)
        return 1 if stale else 0
    for out in stale:
        out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
