"""`reconcile status` as text, markdown and JSON (docs/status.md). Pure functions of the
report; the CLI prints them.

Imports: kinds, plan.
"""

from __future__ import annotations

from typing import Any, Callable

from ..plan.health import SECTIONS, Finding, StatusReport, severities
from ..kinds.impact import size
from .common import severity_counts, severity_tag

STATUS_FORMAT_VERSION = 1
_TITLES = {"spend": "Spend", "headroom": "Headroom", "keys": "Keys", "webhooks": "Webhooks"}


def status_document(report: StatusReport) -> dict[str, Any]:
    worst = report.worst
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "now": report.now.isoformat().replace("+00:00", "Z"),
        "worst": worst.value if worst else None,
        "counts": severities(report.findings),
        "thresholds": {"days": report.options.days, "rotation_window_days": report.options.rotation_window_days,
                       "min_balance_usd": report.options.min_balance_usd,
                       "headroom_percent": report.options.headroom_percent,
                       "min_delivery_rate": report.options.min_delivery_rate},
        "sections": {s: {"figures": report.figures.get(s), "findings": [f.to_data() for f in report.in_section(s)]}
                     for s in SECTIONS},
        "notes": list(report.notes),
    }


def _money(value: Any) -> str:
    return f"${float(value):,.2f}" if isinstance(value, (int, float)) else "n/a"


def _summaries(report: StatusReport) -> dict[str, list[str]]:
    """One or two lines of figures per section, before its findings."""
    spend = report.figures.get("spend") or {}
    budget = spend.get("budget") or {}
    sub = spend.get("subscription") or {}
    head = report.figures.get("headroom") or {}
    keys = report.figures.get("keys") or {}
    hooks: list[dict[str, Any]] = list(report.figures.get("webhooks") or [])
    limits = head.get("limits") or {}
    used = ", ".join(f"{name} {v['used']:,}/{v['limit']:,}" for name, v in limits.items())
    bw = head.get("bandwidth") or {}
    out = {
        "spend": [f"{spend.get('period') or 'this period'}: spent {_money(spend.get('spend_usd'))}, forecast "
                  f"{_money(spend.get('forecast_usd'))}; budget ({budget.get('period') or 'none'}) alert "
                  f"{_money(budget.get('alert_threshold_usd'))}, hard cap {_money(budget.get('hard_cap_usd'))}",
                  f"wallet {_money(spend.get('balance_usd'))}; auto-recharge "
                  f"{'on' if spend.get('autorecharge_enabled') else 'off'}, {spend.get('payment_failures', 0)} "
                  f"payment failure(s) lately; subscription {sub.get('status') or 'n/a'} ({sub.get('tier') or '?'})"],
        "headroom": [f"tier {head.get('tier') or '?'}: {used or 'limits n/a'}"]
                    + ([f"bandwidth {size(bw.get('used_bytes', 0))} of {size(bw.get('limit_bytes', 0))}; alerts: "
                        + (", ".join(f"{size(a['threshold_bytes'])} {a['state']}" for a in bw.get("alerts") or [])
                           or "none")] if bw else []),
        "keys": [f"{keys.get('keys', 0)} key(s), {keys.get('with_rotate_after', 0)} with rotate_after in the config; "
                 f"{len(keys.get('due') or [])} due soon, {len(keys.get('overdue') or [])} overdue, "
                 f"{len(keys.get('in_grace') or [])} in grace"],
        "webhooks": [f"{h['address']}: " + (f"{h['ok']}/{h['deliveries']} ok ({h['success_rate']:.0f}%), last success "
                                             f"{h['last_success'] or 'none'}" if h["deliveries"] else "no deliveries")
                     for h in hooks] or ["no webhooks"],
    }
    return out


def _headline(report: StatusReport) -> str:
    parts = severity_counts(f.severity for f in report.findings)
    return f"Account status: {', '.join(parts) if parts else 'healthy, nothing to report'}."


def render_status_text(report: StatusReport, style: Callable[..., str] | None = None) -> str:
    st = style or (lambda text, **kw: text)
    lines = [st(_headline(report), bold=True)]
    summaries = _summaries(report)
    for section in SECTIONS:
        lines += ["", st(_TITLES[section], bold=True)]
        lines += [f"  {line}" for line in summaries[section]]
        for f in report.in_section(section):
            lines.append("  " + severity_tag(f.severity, st)
                         + f" {f.subject}: {f.message}")
            if f.remedy:
                lines.append(f"          → {f.remedy}")
    if report.notes:
        lines += ["", "Notes:"] + [f"  {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(f: Finding) -> str:
    remedy = f" → {_cell(f.remedy)}" if f.remedy else ""
    return f"| **{f.severity.value}** | `{_cell(f.subject)}` | {_cell(f.message)}{remedy} |"


def render_status_markdown(report: StatusReport, *, title: str = "Infrai account status") -> str:
    lines = [f"### {title}", "", f"**{_headline(report)}**", ""]
    summaries = _summaries(report)
    for section in SECTIONS:
        lines += [f"#### {_TITLES[section]}", ""] + [f"- {_cell(s)}" for s in summaries[section]] + [""]
        found = report.in_section(section)
        if found:
            lines += ["| severity | subject | finding |", "|---|---|---|"] + [_row(f) for f in found] + [""]
    if report.notes:
        lines += ["<details><summary>Notes</summary>", ""] + [f"- {_cell(n)}" for n in report.notes] + ["", "</details>", ""]
    return "\n".join(lines)
