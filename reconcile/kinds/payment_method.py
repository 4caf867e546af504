"""The account's default payment method: which of its payment methods top-ups, and
auto-recharge without a `payment_method_id`, charge.

Payment methods themselves are added in the hosted checkout, outside the API, so they are
never created or deleted here; this singleton only chooses the default among them.
`payment_method.list` returns `{items, default_id}`; `payment_method.set_default` takes
`{payment_method_id}` and answers with the chosen method.
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import ApiCall, Endpoint, Field, IdResolver, KindApi, KindSpec, LiveContext, LiveItem


def _from_live(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> LiveItem:
    return LiveItem((), {"default": raw.get("default_id")}, None, raw)


def _update_calls(kind: KindSpec, desired: Mapping[str, Any], changed: Mapping[str, Any],
                  before: Mapping[str, Any], live_id: str | None, ids: IdResolver) -> list[ApiCall]:
    assert kind.api.update is not None
    chosen = desired["default"]
    return [ApiCall(kind.api.update.method, kind.api.update.url(), {"payment_method_id": chosen},
                    f"make {chosen} the default payment method")]


def _unreachable(desired: Mapping[str, Any], live: LiveItem) -> str | None:
    # set_default answers 404 for a method the account does not have: say so at plan time.
    methods = live.raw.get("items")
    known = [m.get("id") for m in methods if isinstance(m, dict)] if isinstance(methods, list) else []
    wanted = desired.get("default")
    if wanted is None or wanted in known:
        return None
    return (f"the account has no payment method {wanted} (it has: {', '.join(map(str, known)) or 'none'}); "
            "add it in the hosted checkout first, then plan again")


PAYMENT_METHOD = KindSpec(
    name="payment_method",
    title="default payment method",
    config_key="payment_method",
    identity=(),
    singleton=True,
    description="Which of the account's payment methods is the default: the one top-ups and auto-recharge "
                "(without a payment_method_id) charge. Payment methods are added in the hosted checkout; "
                "this only chooses among them.",
    fields={
        "default": Field({"type": "string", "minLength": 1, "maxLength": 64},
                         description="The id of one of the account's payment methods (pm_...), as "
                                     "payment_method.list shows them."),
    },
    api=KindApi(list=Endpoint("GET", "/v1/account/payment_method/list"), paginated=False,
                update=Endpoint("POST", "/v1/account/payment_method/set_default")),
    from_live=_from_live,
    update_calls=_update_calls,
    unreachable=_unreachable,
)
