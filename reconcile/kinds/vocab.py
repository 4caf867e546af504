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
