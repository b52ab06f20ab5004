"""A customer's SLA statement as a document: HTML, Markdown, or PDF printed from the HTML.

Documents render a ``bot.reports.statement.Statement``; they compute nothing themselves.
"""

from __future__ import annotations

from typing import Literal

from bot.reports.statement import Statement
from bot.statements.html import render_html
from bot.statements.markdown import render_markdown
from bot.statements.pdf import html_to_pdf

Format = Literal["html", "pdf", "md"]
FORMATS: tuple[Format, ...] = ("html", "pdf", "md")
MEDIA_TYPES = {"html": "text/html", "pdf": "application/pdf", "md": "text/markdown"}


def filename(statement: Statement, output: Format) -> str:
    """``slabot-statement-nordlys-2026-10.pdf``."""
    return f"slabot-statement-{statement.customer.id}-{statement.requested}.{output}"


def render(statement: Statement, output: Format, *, chromium: str | None = None) -> bytes:
    """The statement as a file's bytes. A PDF needs Chromium (``pdf.find_chromium``)."""
    if output == "md":
        return render_markdown(statement).encode("utf-8")
    page = render_html(statement)
    if output == "html":
        return page.encode("utf-8")
    return html_to_pdf(page, chromium)
