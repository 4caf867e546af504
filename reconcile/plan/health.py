"""The account's health, assessed: what `reconcile status` reports. Pure: the facts read by
`reconcile.workflow.status.read_status`, the live objects, the config's rotation settings,
the thresholds and `now` in; one `Finding` per problem (info, warning, danger) and the
figures of each section out. docs/status.md lists every rule.

  spend     the budget's hard cap reached (danger) or reached by the forecast (warning);
            its alert passed (warning) or reached by the forecast (info); the wallet empty
            (danger) or below --min-balance (warning, info while auto-recharge works);
            auto-recharge payment failures in the window (warning); the subscription
            past_due (danger, with what to do) or cancelled at the period's end (warning)
  headroom  each tier limit (projects, keys in one project, webhooks, members, the busiest
            hour's average rpm, bandwidth) used at --headroom percent or more (warning) or
            at 100% (danger); bandwidth reaching the quota by the period's end at the
            current pace (warning); each bandwidth alert that fired or will (info)
  keys      rotation (from `rotate_after`) due within --rotation-window days (info),
            overdue (warning), overdue by more than the key's grace_hours (danger); a
            rotated key whose old secret still works (info)
  webhooks  per webhook, deliveries of the window: all failed (danger), a success rate
            below --min-delivery-rate or the latest failed (warning), with the command that
            retries or replays them

Imports: errors, kinds, plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from ..errors import ReconcileError
from ..kinds.units import parse_api_time, parse_duration_hours, rotation_start
from .deliveries import delivery_stats
from .fail_on import Hit, fail_on_message
from .model import Severity
from ..kinds.account import period_spend
from ..kinds.api_key import DEFAULT_GRACE_HOURS
from ..kinds.impact import AccountFacts, size, usd, when

SECTIONS = ("spend", "headroom", "keys", "webhooks")
EXIT_STATUS_GATE = 4  # the --fail-on gate, like impacts and checks (README, exit codes)


class StatusAboveThreshold(ReconcileError):
    """A finding of `reconcile status` is at or above `--fail-on`."""

    exit_code = EXIT_STATUS_GATE


@dataclass(frozen=True)
class HealthOptions:
    """The thresholds (docs/status.md); `days` is the look-back of failures and deliveries."""

    days: int = 7
    rotation_window_days: int = 14
    min_balance_usd: float = 5.0
    headroom_percent: float = 80.0
    min_delivery_rate: float = 95.0


@dataclass(frozen=True)
class Finding:
    severity: Severity
    section: str
    subject: str
    rule: str
    message: str
    remedy: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "section": self.section, "subject": self.subject,
                "rule": self.rule, "message": self.message, "remedy": self.remedy}


@dataclass(frozen=True)
class StatusReport:
    now: datetime
    options: HealthOptions
    figures: Mapping[str, Any]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    def in_section(self, section: str) -> list[Finding]:
        return [f for f in self.findings if f.section == section]

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def at_or_above(self, floor: str) -> list[Finding]:
        rank = Severity(floor).rank
        return [f for f in self.findings if f.severity.rank >= rank]


def check_status_fail_on(report: StatusReport, fail_on: str | None) -> None:
    """`status --fail-on warning|danger`: raise (exit 4) when a finding is at least that severe."""
    if not fail_on:
        return
    hits = [Hit(f.severity.value, f.subject, f.message) for f in report.at_or_above(fail_on)]
    message = fail_on_message([("finding", hits)], fail_on)
    if message:
        raise StatusAboveThreshold(message)


def assess_status(facts: Mapping[str, Any], live: Any, rotation: Mapping[str, Mapping[str, Any]],
                  options: HealthOptions, now: datetime, *, unavailable: Mapping[str, str] | None = None
                  ) -> StatusReport:
    """The report: figures and findings per section, plus a note per fact that could not be read."""
    missing = dict(unavailable or {})
    f = AccountFacts(facts, now)  # no plan: no planned tier
    now = f.now
    out: list[Finding] = []
    figures = {
        "spend": _spend(f, live, options, out),
        "headroom": _headroom(f, options, out, live),
        "keys": _keys(live, rotation, options, now, out),
        "webhooks": _webhooks(facts.get("deliveries") or {}, live, options, now, out),
    }
    notes = [f"{name} could not be read ({why}): its checks were skipped" for name, why in sorted(missing.items())]
    notes.append("keys: the API's usage does not say which key made a call, so keys unused for a while "
                 "cannot be reported")
    order = {s: i for i, s in enumerate(SECTIONS)}
    ranked = sorted(out, key=lambda x: (order[x.section], -x.severity.rank, x.subject))
    return StatusReport(now, options, figures, tuple(ranked), tuple(notes))


# -- spend --------------------------------------------------------------------------------
def _one(live: Any, kind: str) -> Mapping[str, Any]:
    found = live.of_kind(kind)
    return found[0].values if found else {}


def _spend(f: AccountFacts, live: Any, o: HealthOptions, out: list[Finding]) -> dict[str, Any]:
    usage = f.get("usage") or {}
    forecast = f.get("forecast") or {}
    budget = _one(live, "budget")
    recharge = _one(live, "autorecharge")
    fig: dict[str, Any] = {
        "period": usage.get("period") or forecast.get("period"),
        "spend_usd": usage.get("spend_usd", forecast.get("spend_to_date_usd")),
        "requests": usage.get("requests"),
        "forecast_usd": forecast.get("projected_spend_usd"),
        "budget": {k: budget.get(k) for k in ("period", "hard_cap_usd", "alert_threshold_usd")} if budget else None,
        "autorecharge_enabled": bool(recharge.get("enabled")),
    }
    _budget(budget, f, out)
    balance = (f.get("balance") or {}).get("balance_usd")
    fig["balance_usd"] = balance
    failures = _recent(f.raw.get("payment_failures"), f.now, o.days)
    fig["payment_failures"] = len(failures)
    if failures:
        latest = failures[-1]
        out.append(Finding(
            Severity.WARNING, "spend", "autorecharge", "autorecharge.payment_failed",
            f"{len(failures)} failed charge{'s' if len(failures) != 1 else ''} in the last {o.days} days; latest "
            f"{latest.get('reason') or 'declined'} on {latest.get('payment_method_id')} for "
            f"{usd(float(latest.get('amount_usd') or 0))} ({latest.get('source')}) at {latest.get('created_at')}",
            "fix or replace the payment method in the hosted checkout (the API cannot add one); "
            "`autorecharge.payment_method_id` in the config names the one auto-recharge uses"))
    if isinstance(balance, (int, float)):
        _wallet(float(balance), bool(recharge.get("enabled")), bool(failures), o, out)
    sub = f.get("subscription")
    if sub is not None:
        fig["subscription"] = {k: sub.get(k) for k in ("status", "tier", "current_period_end", "cancel_at_period_end")}
        _subscription(sub, out)
    return fig


def _budget(budget: Mapping[str, Any], f: AccountFacts, out: list[Finding]) -> None:
    cap, alert = budget.get("hard_cap_usd"), budget.get("alert_threshold_usd")
    spend = period_spend(budget.get("period") or "monthly", f) if budget else None
    if spend is None:
        return
    spent, projected, label, end = spend
    if isinstance(cap, (int, float)):
        if spent >= cap:
            out.append(Finding(Severity.DANGER, "spend", "budget", "budget.hard_cap_reached",
                               f"spend of {label} ({usd(spent)}) has reached the hard cap {usd(cap)}: billable "
                               f"calls are blocked (HTTP 402) until the period ends at {when(end)}",
                               "raise `budget.hard_cap_usd` in the config and apply, or wait for the period's end"))
        elif projected >= cap:
            out.append(Finding(Severity.WARNING, "spend", "budget", "budget.hard_cap_forecast",
                               f"forecast spend of {label} ({usd(projected)}) reaches the hard cap {usd(cap)} "
                               f"({usd(spent)} spent so far): billable calls would be blocked{_from(f, cap - spent, end)}",
                               "raise `budget.hard_cap_usd`, or lower the spend"))
    if isinstance(alert, (int, float)) and alert > 0:
        if spent >= alert:
            out.append(Finding(Severity.WARNING, "spend", "budget", "budget.alert_passed",
                               f"spend of {label} ({usd(spent)}) has passed the alert threshold {usd(alert)} "
                               "(the budget.alert event was sent)"))
        elif projected >= alert:
            out.append(Finding(Severity.INFO, "spend", "budget", "budget.alert_forecast",
                               f"the alert threshold {usd(alert)} will fire at the forecast spend of {label} "
                               f"({usd(projected)}){_from(f, alert - spent, end)}"))


def _from(f: AccountFacts, left: float, end: datetime) -> str:
    rate = f.daily_rate()
    if rate is None or rate[0] <= 0:
        return ""
    hit = min(f.now + timedelta(days=left / rate[0]), end)
    return f" from about {hit.date().isoformat()} at the recent {usd(rate[0])}/day"


def _wallet(balance: float, recharge: bool, failing: bool, o: HealthOptions, out: list[Finding]) -> None:
    if balance <= 0:
        out.append(Finding(Severity.DANGER, "spend", "wallet", "wallet.empty",
                           f"the wallet holds {usd(balance)}: billable calls fail (HTTP 402 INSUFFICIENT_CREDIT)"
                           + (" unless an auto-recharge succeeds" if recharge else ""),
                           "top up in the console (status never pays), or declare `autorecharge`"))
    elif balance < o.min_balance_usd:
        working = recharge and not failing
        out.append(Finding(Severity.INFO if working else Severity.WARNING, "spend", "wallet", "wallet.low",
                           f"the wallet holds {usd(balance)}, below --min-balance {usd(o.min_balance_usd)}"
                           + ("; auto-recharge is on and has not failed lately" if working else
                              "; auto-recharge is failing" if recharge else "; auto-recharge is off"),
                           None if working else "top up in the console, or declare a working `autorecharge`"))


def _subscription(sub: Mapping[str, Any], out: list[Finding]) -> None:
    status, tier, end = sub.get("status"), sub.get("tier"), sub.get("current_period_end")
    if status == "past_due":
        out.append(Finding(Severity.DANGER, "spend", "subscription", "subscription.past_due",
                           f"the {tier} subscription is past_due: its last payment failed",
                           "fix the payment method in the hosted checkout, then retry the payment yourself "
                           "(POST /v1/account/subscription/retry_payment, or the console); status never pays"))
    elif sub.get("cancel_at_period_end"):
        out.append(Finding(Severity.WARNING, "spend", "subscription", "subscription.ending",
                           f"the {tier} subscription is cancelled at the period's end ({end}): the tier falls "
                           "to standard and its limits with it"))
    elif status == "canceled":
        out.append(Finding(Severity.INFO, "spend", "subscription", "subscription.canceled",
                           "the subscription is canceled: the account is on pay-as-you-go"))


def _recent(items: Any, now: datetime, days: int) -> list[Mapping[str, Any]]:
    since = now - timedelta(days=days)
    found = []
    for item in items if isinstance(items, list) else []:
        at = parse_api_time(item.get("created_at")) if isinstance(item, Mapping) else None
        if at is not None and at >= since:
            found.append((at, item))
    return [i for _, i in sorted(found, key=lambda p: p[0])]


# -- headroom -----------------------------------------------------------------------------
_COUNTED = (("projects", "projects"), ("keys_per_project", "keys in one project"), ("webhooks", "webhooks"),
            ("members", "members"))


def _level(used: float, limit: float, o: HealthOptions) -> Severity | None:
    if limit <= 0:
        return None
    share = used / limit * 100
    return Severity.DANGER if share >= 100 else Severity.WARNING if share >= o.headroom_percent else None


def _headroom(f: AccountFacts, o: HealthOptions, out: list[Finding], live: Any) -> dict[str, Any]:
    tier = f.get("tier") or {}
    raw_limits = tier.get("limits")
    limits: Mapping[str, Any] = raw_limits if isinstance(raw_limits, Mapping) else {}
    counts = f.raw.get("counts") or {}
    fig: dict[str, Any] = {"tier": tier.get("tier"), "limits": {}}
    for name, words in _COUNTED:
        limit, used = limits.get(name), counts.get(name)
        if not isinstance(limit, int) or not isinstance(used, int):
            continue
        fig["limits"][name] = {"used": used, "limit": limit}
        level = _level(used, limit, o)
        if level is not None:
            out.append(Finding(level, "headroom", f"tier.{name}", "tier.limit_near",
                               f"{used:,} of {limit:,} {words} ({used / limit:.0%}) on the {tier.get('tier')} tier"
                               + (": creating another fails" if used >= limit else ""),
                               "delete unused ones, or raise `tier` in the config"))
    rpm_limit = limits.get("requests_per_minute")
    peak = f.peak_hour()
    if isinstance(rpm_limit, int):
        rpm = peak[1] if peak else 0.0
        fig["limits"]["requests_per_minute"] = {"used": round(rpm, 1), "limit": rpm_limit,
                                                "peak_hour": peak[0].isoformat() if peak else None}
        level = _level(rpm, rpm_limit, o)
        if level is not None and peak is not None:
            out.append(Finding(level, "headroom", "tier.requests_per_minute", "tier.rpm_near",
                               f"the busiest hour of the last 7 days ({when(peak[0])}) averaged {rpm:,.1f} "
                               f"requests a minute, {rpm / rpm_limit:.0%} of the tier's {rpm_limit:,} (its busiest minutes "
                               "were at least that; past the limit calls are throttled with HTTP 429)",
                               "raise `tier` in the config, or spread the load"))
    fig["bandwidth"] = _bandwidth(f, o, out, live)
    return fig


def _bandwidth(f: AccountFacts, o: HealthOptions, out: list[Finding], live: Any) -> dict[str, Any] | None:
    quota = f.get("bandwidth_quota")
    if quota is None:
        return None
    used, limit = int(quota.get("used_bytes") or 0), int(quota.get("limit_bytes") or 0)
    start = datetime(f.now.year, f.now.month, 1, tzinfo=timezone.utc)
    end = datetime(f.now.year + f.now.month // 12, f.now.month % 12 + 1, 1, tzinfo=timezone.utc)
    elapsed = max((f.now - start).total_seconds(), 3600.0) / (end - start).total_seconds()
    projected = int(used / elapsed) if used else 0
    fig: dict[str, Any] = {"used_bytes": used, "limit_bytes": limit, "projected_bytes": projected, "alerts": []}

    def reached(threshold: int) -> str:  # at the month's pace so far
        rate = used / max((f.now - start).total_seconds(), 3600.0)
        return when(f.now + timedelta(seconds=(threshold - used) / rate)) if rate > 0 else "the period's end"

    level = _level(used, limit, o)
    if level is not None:
        out.append(Finding(level, "headroom", "bandwidth", "bandwidth.quota_near",
                           f"{size(used)} of the {size(limit)} bandwidth quota used ({used / limit:.0%})",
                           "raise `tier` in the config, or cut traffic"))
    elif limit and projected >= limit:
        out.append(Finding(Severity.WARNING, "headroom", "bandwidth", "bandwidth.quota_forecast",
                           f"at this month's pace the {size(limit)} quota is used up about {reached(limit)} "
                           f"({size(used)} so far, {size(projected)} by the period's end)",
                           "raise `tier` in the config, or cut traffic"))
    for alert in sorted(live.of_kind("bandwidth_alert"), key=lambda r: r.values.get("threshold_bytes") or 0):
        threshold = int(alert.values.get("threshold_bytes") or 0)
        if alert.values.get("enabled") is False or threshold <= 0:
            continue
        state = "fired" if used >= threshold else "will fire" if projected >= threshold else "quiet"
        fig["alerts"].append({"address": alert.address, "threshold_bytes": threshold, "state": state})
        if state != "quiet":
            text = (f"fired: {size(used)} used is past its {size(threshold)}" if state == "fired" else
                    f"will fire about {reached(threshold)} at this month's pace ({size(projected)} by the period's end)")
            out.append(Finding(Severity.INFO, "headroom", alert.address, f"bandwidth_alert.{state.replace(' ', '_')}",
                               text))
    return fig


# -- keys ---------------------------------------------------------------------------------
def _keys(live: Any, rotation: Mapping[str, Mapping[str, Any]], o: HealthOptions, now: datetime,
          out: list[Finding]) -> dict[str, Any]:
    keys = sorted(live.of_kind("api_key"), key=lambda r: r.address)
    fig: dict[str, Any] = {"keys": len(keys), "with_rotate_after": 0, "due": [], "overdue": [], "in_grace": []}
    for key in keys:
        values = key.values
        # Not a field of the kind (nothing declares it): the API's own answer has it.
        grace_end = parse_api_time(key.item.raw.get("grace_expires_at"))
        if grace_end is not None and grace_end > now:
            fig["in_grace"].append(key.address)
            out.append(Finding(Severity.INFO, "keys", key.address, "key.in_grace",
                               f"rotated; the old secret works until {when(grace_end)}: consumers must switch by then"))
        settings = rotation.get(key.address)
        if not settings:
            continue
        fig["with_rotate_after"] += 1
        try:
            hours = parse_duration_hours(settings["rotate_after"])
        except ValueError:
            continue  # the config loader has already refused such a value
        start = rotation_start(values)  # as the planner counts it
        if start is None:
            continue
        due = start[1] + timedelta(hours=hours)
        grace_setting = settings.get("grace_hours")
        grace = int(grace_setting) if grace_setting is not None else DEFAULT_GRACE_HOURS
        policy = f"rotate_after {settings['rotate_after']}"
        remedy = f"reconcile apply (it rotates keys past rotate_after), or: reconcile apply --replace {key.address}"
        if now >= due + timedelta(hours=grace):
            fig["overdue"].append(key.address)
            out.append(Finding(Severity.DANGER, "keys", key.address, "key.rotation_past_grace",
                               f"rotation was due {when(due)} ({policy}), more than its grace of {grace} hours ago",
                               remedy))
        elif now >= due:
            fig["overdue"].append(key.address)
            out.append(Finding(Severity.WARNING, "keys", key.address, "key.rotation_overdue",
                               f"rotation was due {when(due)} ({policy})", remedy))
        elif due - now <= timedelta(days=o.rotation_window_days):
            fig["due"].append(key.address)
            days = (due - now).total_seconds() / 86400
            out.append(Finding(Severity.INFO, "keys", key.address, "key.rotation_due",
                               f"rotation due {when(due)}, in {days:.1f} days ({policy})"))
    return fig


# -- webhooks -----------------------------------------------------------------------------
def _webhooks(deliveries: Mapping[str, Sequence[Mapping[str, Any]]], live: Any, o: HealthOptions, now: datetime,
              out: list[Finding]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for hook in sorted(live.of_kind("webhook"), key=lambda r: r.address):
        stats = delivery_stats(_recent(list(deliveries.get(str(hook.id)) or []), now, o.days))
        latest = stats.latest_failed
        row: dict[str, Any] = {
            "address": hook.address, "id": hook.id, "active": hook.values.get("active", True),
            "deliveries": len(stats.recent), "ok": stats.ok,
            "success_rate": round(stats.ok / len(stats.recent) * 100, 1) if stats.recent else None,
            "last_success": stats.last_success,
            "last_failure": latest.get("created_at") if latest else None,
            "failed_ids": [d.get("delivery_id") for d in stats.failed[-5:]],
        }
        rows.append(row)
        if latest is None:
            continue
        retry = f"reconcile webhooks retry '{hook.address}'"
        replay = f"reconcile webhooks replay '{hook.address}' --delivery {latest.get('delivery_id')}"
        why = latest.get("error") or f"HTTP {latest.get('status_code')}"
        last_ok = f"last success {row['last_success']}" if stats.ok else "no success in the window"
        if not stats.ok:
            level = Severity.DANGER
        elif row["success_rate"] < o.min_delivery_rate or stats.latest_is_a_failure:
            level = Severity.WARNING
        else:
            continue
        out.append(Finding(level, "webhooks", hook.address, "webhook.deliveries_failing",
                           f"{stats.ok} of {len(stats.recent)} deliveries in the last {o.days} days succeeded "
                           f"({row['success_rate']:.0f}%); latest failure {latest.get('created_at')}: {why}; {last_ok}",
                           f"once the receiver is fixed: {retry} (the latest failed delivery), or {replay}"))
    return rows


def severities(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts
