"""Money, by area: the wallet (balance, top-up, restore: `routes_wallet`), the budget
(`routes_budget`), payment methods and auto-recharge (`routes_payments`), subscription and
tier (`routes_tier`), usage and the billing engine `record_usage` (`routes_usage`); the
transaction and invoice ledgers are plain stored lists. This module is the area's route
table, in the order the app serves and documents it.
"""

from __future__ import annotations

from .context import capability, get_by_id, paged_list
from .routes_budget import budget_get, budget_set
from .routes_payments import (autorecharge_configure, autorecharge_get, autorecharge_test_charge, payment_method_list,
                              payment_method_set_default)
from .routes_tier import (subscription_cancel, subscription_get, subscription_retry_payment, tier_downgrade,
                          tier_get, tier_upgrade)
from .routes_usage import usage_export, usage_forecast, usage_summary, usage_timeseries
from .routes_wallet import balance, topup, wallet_restore

P = "/v1/account"
B = "billing:write"
CAPABILITIES = (
    capability("account.balance", "GET", f"{P}/balance", balance),
    capability("account.topup", "POST", f"{P}/topup", topup, B),
    capability("account.transactions.list", "GET", f"{P}/transactions/list", paged_list("txn")),
    capability("account.invoices.list", "GET", f"{P}/invoices/list", paged_list("invoice")),
    capability("account.invoices.get", "GET", f"{P}/invoices/get/{{id}}", get_by_id("invoice", "invoice"), id_field="invoice_id"),
    capability("account.budget.get", "GET", f"{P}/budget/get", budget_get),
    capability("account.budget.set", "PUT", f"{P}/budget/set", budget_set, B),
    capability("account.autorecharge.get", "GET", f"{P}/autorecharge/get", autorecharge_get),
    capability("account.autorecharge.configure", "PUT", f"{P}/autorecharge/configure", autorecharge_configure, B),
    capability("account.autorecharge.test_charge", "POST", f"{P}/autorecharge/test_charge",
               autorecharge_test_charge, B),
    capability("account.autorecharge.payment_failures.list", "GET", f"{P}/autorecharge/payment_failures/list",
               paged_list("pf")),
    capability("account.payment_method.list", "GET", f"{P}/payment_method/list", payment_method_list),
    capability("account.payment_method.set_default", "POST", f"{P}/payment_method/set_default",
               payment_method_set_default, B),
    capability("account.subscription.get", "GET", f"{P}/subscription/get", subscription_get),
    capability("account.subscription.cancel", "POST", f"{P}/subscription/cancel", subscription_cancel, B),
    capability("account.subscription.retry_payment", "POST", f"{P}/subscription/retry_payment",
               subscription_retry_payment, B),
    capability("account.tier", "GET", f"{P}/tier", tier_get),
    capability("account.tier.upgrade", "POST", f"{P}/tier/upgrade", tier_upgrade, B),
    capability("account.tier.downgrade", "POST", f"{P}/tier/downgrade", tier_downgrade, B),
    capability("account.wallet.restore", "POST", f"{P}/wallet/restore", wallet_restore, B),
    capability("account.usage", "GET", f"{P}/usage", usage_summary),
    capability("account.usage.timeseries", "GET", f"{P}/usage/timeseries", usage_timeseries),
    capability("account.usage.forecast", "GET", f"{P}/usage/forecast", usage_forecast),
    capability("account.usage.export", "POST", f"{P}/usage/export", usage_export, B),
)
