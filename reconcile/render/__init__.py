"""Renderers: plain functions from a Plan (or an apply report) to text, markdown or JSON.
Imports: nothing (its modules: plan, apply.events, kinds). They never print; the CLI does."""

from .json_ import plan_document, report_document
from .markdown import render_plan_markdown
from .text import render_plan_text, render_report_text

__all__ = [
    "plan_document",
    "report_document",
    "render_plan_markdown",
    "render_plan_text",
    "render_report_text",
]
