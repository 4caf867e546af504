"""Check results (reconcile.plan.checks; docs/checks.md) as lines of the text and markdown
plans and apply reports."""

from __future__ import annotations

from typing import Any, Callable, Sequence

_WORD = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "error": ("ERROR", "red"),
         "pending": ("PENDING", "cyan"), "info": ("INFO", "cyan")}
_MD = {"pass": "✅ pass", "fail": "❌ fail", "error": "❌ error", "pending": "⏳ pending", "info": "ℹ️ info"}


def _heading(results: Sequence[Any]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        word = "failing" if r.failing else {"pass": "passing"}.get(r.status, r.status)
        counts[word] = counts.get(word, 0) + 1
    order = ("failing", "passing", "pending", "info")
    parts = [f"{counts[w]} {w}" for w in sorted(counts, key=lambda w: order.index(w) if w in order else len(order))]
    return f"Checks ({', '.join(parts)}):"


def _failing_first(results: Sequence[Any]) -> list[Any]:
    """Failing (and could-not-run) checks first, the rest in the config's order: the line a
    reviewer must read is never under a list of passes."""
    return sorted(results, key=lambda r: not r.failing)


def check_lines(results: Sequence[Any], style: Callable[..., str] = lambda text, **kw: text) -> list[str]:
    """`Checks (1 failing, …):` then one line per check, failing first; nothing when there is none."""
    if not results:
        return []
    lines = ["", style(_heading(results), bold=True)]
    for r in _failing_first(results):
        word, fg = _WORD.get(r.status, (r.status.upper(), "white"))
        lines.append("  " + style(f"{word:<7}", fg=fg, bold=True) + f" [{r.severity}] {r.address}: {r.message}")
    return lines


def check_lines_markdown(results: Sequence[Any]) -> list[str]:
    if not results:
        return []
    lines = [f"**{_heading(results)}**", "", "| result | severity | resource | check |", "|---|---|---|---|"]
    for r in _failing_first(results):
        message = r.message.replace("|", "\\|")
        lines.append(f"| {_MD.get(r.status, r.status)} | {r.severity} | `{r.address}` | {message} |")
    return lines + [""]
