"""The wallet: balance, top-up (completed by the emulator's checkout page), and the
restore of a balance forfeited for inactivity (within 30 days).
"""

from __future__ import annotations

from typing import Any

from . import validation as v
from .clock import iso
from .context import Ctx, EmulatorState, Outcome
from .errors import not_found
from .routes_webhooks import emit_event
from .store import Store, new_id, to_micro, usd


WALLET_RESTORE_WINDOW = 30 * 86400



async def balance(ctx: Ctx) -> Outcome:
    return 200, {"balance_usd": usd(ctx.store.balance_micro()), "currency": "USD"}



async def topup(ctx: Ctx) -> Outcome:
    params = ctx.params
    if "amount_usd" not in params and "amount" in params:  # the seed example's spelling
        params = {**params, "amount_usd": params["amount"]}
    amount = v.number(params, "amount_usd", required=True, minimum=1, maximum=10000, max_decimals=2)
    return_url = v.string(params, "return_url", max_len=2048)
    topup_id = new_id("top")
    base = str(ctx.request.base_url).rstrip("/")
    record = {"topup_id": topup_id, "amount_usd": amount, "state": "requires_action",
              "next_action_url": f"{base}/_emulator/checkout/{topup_id}", "return_url": return_url,
              "created_at": iso(ctx.now)}
    ctx.store.insert("topup", topup_id, record)
    return 200, record



async def complete_topup(emu: EmulatorState, topup_id: str) -> dict[str, Any]:
    """The emulator's checkout page was 'paid': credit the wallet once."""
    store = emu.store
    record = store.get("topup", topup_id)
    if record is None:
        raise not_found("top-up", topup_id)
    if record["state"] == "succeeded":
        return record
    with store.tx():
        record.update(state="succeeded", next_action_url=None)
        store.update(topup_id, record)
        store.add_transaction("topup", to_micro(record["amount_usd"]), f"Top-up {topup_id}")
    await emit_event(emu, "topup.succeeded", {"topup_id": topup_id, "amount_usd": record["amount_usd"]})
    return record



def forfeit_wallet(store: Store, now: float) -> dict[str, Any]:
    """What the service does to an inactive wallet: the balance is forfeited (restorable 30 days)."""
    with store.tx():
        amount = store.balance_micro()
        wallet = store.doc("wallet")
        wallet.update(forfeited_micro=int(wallet.get("forfeited_micro", 0)) + amount, forfeited_at=now)
        store.set_doc("wallet", wallet)
        if amount:
            store.add_transaction("forfeit", -amount, "Inactive wallet balance forfeited", ts=now)
    return {"forfeited_usd": usd(amount), "balance_usd": usd(store.balance_micro())}



async def wallet_restore(ctx: Ctx) -> Outcome:
    wallet = ctx.store.doc("wallet")
    amount = int(wallet.get("forfeited_micro", 0))
    restorable = amount > 0 and ctx.now - wallet.get("forfeited_at", 0) <= WALLET_RESTORE_WINDOW
    with ctx.store.tx():
        if restorable:
            ctx.store.add_transaction("restore", amount, "Forfeited balance restored")
        if amount:
            wallet.update(forfeited_micro=0, forfeited_at=None)  # past the window it is gone for good
            ctx.store.set_doc("wallet", wallet)
    return 200, {"account_id": ctx.store.account_id, "restored": restorable,
                 "restored_usd": usd(amount if restorable else 0), "balance_usd": usd(ctx.store.balance_micro())}
