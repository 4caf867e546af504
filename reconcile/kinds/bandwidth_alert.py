"""Bandwidth alerts: `configure` creates a new alert on every call, so an alert is
identified by its threshold (docs/emulator.md, seed-notes 14). There is no update."""

from __future__ import annotations

from typing import Any

from .base import Endpoint, Field, KindApi, KindSpec, ReplaceStrategy
from .project import PROTECT
from .units import SIZE_PATTERN, format_size, parse_size


def _to_config(field: str, value: Any) -> Any:
    return format_size(value) if field == "threshold_bytes" and isinstance(value, int) else value


BANDWIDTH_ALERT = KindSpec(
    name="bandwidth_alert",
    title="bandwidth alert",
    config_key="bandwidth_alerts",
    identity=("threshold_bytes",),
    depends_on=("tier",),
    description="An alert that fires when the period's bandwidth use reaches a threshold.",
    fields={
        "threshold_bytes": Field({"type": ["integer", "string"], "minimum": 1, "pattern": SIZE_PATTERN}, required=True,
                                 normalize=parse_size,
                                 description="Bytes, or a size such as 500MB or 10GiB (config key: `threshold`)."),
        "enabled": Field({"type": "boolean"}, updatable=False, description="false keeps the alert but silences it."),
        "created_at": Field({"type": "string"}, computed=True),
    },
    meta={"protect": PROTECT},
    api=KindApi(
        list=Endpoint("GET", "/v1/account/bandwidth/alerts/list"),
        paginated=False,
        create=Endpoint("POST", "/v1/account/bandwidth/alerts/configure"),
        delete=Endpoint("DELETE", "/v1/account/bandwidth/alerts/delete/{id}"),
    ),
    replace_strategy=ReplaceStrategy.CREATE_BEFORE_DELETE,
    to_config=_to_config,
    config_aliases={"threshold": "threshold_bytes"},
)
