"""Report renderers: one function per format, each taking a ``Report`` and returning text."""

from __future__ import annotations

from collections.abc import Callable

from fakewatch_cost.reports.csv_report import render_csv
from fakewatch_cost.reports.html import render_html
from fakewatch_cost.reports.json_report import render_json
from fakewatch_cost.reports.markdown import render_markdown
from fakewatch_cost.reports.model import Report, build_report
from fakewatch_cost.reports.text import render_table

RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}

__all__ = ["RENDERERS", "Report", "build_report"]
