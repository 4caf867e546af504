"""What the tool does with the API capabilities the registry does not show, as data.

The kinds' endpoints (`KindSpec.api`) already say which capabilities the reconciler manages
and reads; docs/capabilities.md is generated from them plus this table, which holds every
other capability: one managed outside `KindSpec.api` (a tier downgrade) and those
deliberately never called, each with the reason (what `status`, the checks and the
imperative commands call is derived from their code, tools/capabilities_page.py).
tests/cli/test_capabilities.py fails when a capability is in neither, when this table names
one the API does not have, or when it repeats one the registry already covers.

Imports: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

MANAGES, READS, COMMAND, NOT_USED = "manages", "reads", "command", "not used"
USES = (MANAGES, READS, COMMAND, NOT_USED)


@dataclass(frozen=True)
class CapabilityUse:
    """`use`: one of USES; `what`: in words, what the tool does with it or why it never calls it."""

    use: str
    what: str


_GET_ONE = "each kind is read with one list call whose items carry every field, never a GET per object"
_HISTORY = "billing history, not a state the config declares"

HAND_KEPT: dict[str, CapabilityUse] = {
    # Managed, but chosen by the tier kind's update function rather than declared as its endpoint.
    "account.tier.downgrade": CapabilityUse(MANAGES, "`tier`: a tier below the current one (scheduled by the API "
                                                     "for the end of the billing period)"),
    # Reads of single objects.
    "account.webhooks.get": CapabilityUse(NOT_USED, _GET_ONE),
    "account.invoices.get": CapabilityUse(NOT_USED, _HISTORY),
    # Money moves: events, never desired state.
    "account.topup": CapabilityUse(NOT_USED, "a top-up moves money once; it is an event, not a state "
                                             "to converge to (declare `autorecharge` instead)"),
    "account.subscription.cancel": CapabilityUse(NOT_USED, "it ends the paid subscription, which no "
                                                           "config change should do as a side effect"),
    "account.subscription.retry_payment": CapabilityUse(NOT_USED, "it charges the payment method again"),
    "account.wallet.restore": CapabilityUse(NOT_USED, "a one-off recovery of an old balance after "
                                                      "claiming the account on another device"),
    # Reports and history: what happened, not what should be.
    "account.invoices.list": CapabilityUse(NOT_USED, _HISTORY),
    "account.transactions.list": CapabilityUse(NOT_USED, _HISTORY),
    "account.usage.export": CapabilityUse(NOT_USED, "it starts an export job, a side effect with "
                                                    "nothing to converge to"),
    "account.bandwidth.usage": CapabilityUse(NOT_USED, "impact analysis and `status` read `used` from "
                                                       "the quota"),
}

# The scope a key needs to change each kind (docs/emulator.md, Scopes); `account:read` reads
# them all. `reconcile doctor` names the kinds a key lacking one of these cannot change.
READ_SCOPE = "account:read"
WRITE_SCOPE: dict[str, str] = {
    "tier": "billing:write",
    "budget": "billing:write",
    "autorecharge": "billing:write",
    "payment_method": "billing:write",
    "routing": "routing:write",
    "project": "projects:write",
    "api_key": "keys:write",
    "webhook": "webhooks:write",
    "member": "members:write",
    "bandwidth_alert": "bandwidth:write",
}
