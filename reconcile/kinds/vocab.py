"""Closed vocabularies of the Infrai account API, as decided in docs/emulator.md.

The emulator keeps its own copy (it is an independent model of the API); a test checks
that the two agree.
"""

SCOPES = (
    "account:read",
    "projects:write",
    "keys:write",
    "webhooks:write",
    "members:write",
    "billing:write",
    "routing:write",
    "bandwidth:write",
)

WEBHOOK_EVENTS = (
    "balance.low",
    "budget.alert",
    "budget.exceeded",
    "key.created",
    "key.rotated",
    "key.revoked",
    "key.compromised",
    "topup.succeeded",
    "topup.failed",
    "invoice.created",
    "invoice.paid",
    "autorecharge.succeeded",
    "autorecharge.failed",
    "bandwidth.alert",
    "member.invited",
    "member.joined",
    "subscription.updated",
    "tier.changed",
    "webhook.test",
)

VENDORS = (
    "openai",
    "anthropic",
    "google",
    "mistral",
    "cohere",
    "deepseek",
    "groq",
    "together",
    "azure-openai",
    "aws-bedrock",
)

MEMBER_ROLES = ("admin", "developer", "viewer", "billing-ops", "kyc-ops")

# Lowest first: an upgrade moves right, a downgrade left.
TIERS = ("standard", "pro", "team", "enterprise")
DOWNGRADE_TARGETS = ("standard", "pro")

RETRY_POLICIES = ("default", "aggressive")
BUDGET_PERIODS = ("daily", "monthly")

GIB = 1024**3
# Each tier's limits as `GET /v1/account/tier` reports them (docs/emulator.md "tier limits").
# Impact analysis needs the limits of a tier the account is not on yet (a downgrade's
# target), which the API only reports for the current tier.
TIER_LIMITS: dict[str, dict[str, int]] = {
    "standard": {"requests_per_minute": 60, "projects": 5, "keys_per_project": 10, "webhooks": 5,
                 "members": 3, "bandwidth_bytes": 10 * GIB},
    "pro": {"requests_per_minute": 600, "projects": 50, "keys_per_project": 50, "webhooks": 20,
            "members": 10, "bandwidth_bytes": 100 * GIB},
    "team": {"requests_per_minute": 3000, "projects": 200, "keys_per_project": 200, "webhooks": 50,
             "members": 50, "bandwidth_bytes": 1024 * GIB},
    "enterprise": {"requests_per_minute": 10000, "projects": 1000, "keys_per_project": 1000, "webhooks": 100,
                   "members": 500, "bandwidth_bytes": 10240 * GIB},
}
# How the impact rules name each limit, and which limits throttle or block traffic when
# exceeded (the others are object counts).
TIER_LIMIT_WORDS: dict[str, str] = {
    "requests_per_minute": "requests per minute",
    "bandwidth_bytes": "bandwidth per month",
    "projects": "projects",
    "keys_per_project": "keys in one project",
    "webhooks": "webhooks",
    "members": "members",
}
THROTTLING_LIMITS = ("requests_per_minute", "bandwidth_bytes")
