"""The PDF of a statement: its HTML printed by headless Chromium (docs/decisions.md,
"Statements": a real browser engine, the one the tests look at the page with).

Chromium is a program, not a Python package: ``apt-get install chromium`` on Debian and
Ubuntu. Without it only ``--format pdf`` is unavailable, and says so (``PdfEngineMissing``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace for Chromium's sandbox
    "--disable-gpu",
    "--disable-background-networking",  # nothing but the local file: no updates, no sync
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
)
TIMEOUT = 60.0
"""Seconds a page may take; a hung browser is stopped rather than waited on."""


class PdfEngineMissing(RuntimeError):
    """No Chromium to print with."""

    def __init__(self) -> None:
        super().__init__(
            "--format pdf needs headless Chromium, and none is installed (looked for "
            f"{', '.join(CHROMIUM_NAMES)} on PATH); install it (Debian/Ubuntu: "
            "apt-get install chromium) or use --format html"
        )


class PdfEngineFailed(RuntimeError):
    """Chromium ran but made no PDF (its last error lines are in the message)."""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on PATH, if any."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def headless(
    chromium: str, page: Path, *arguments: str, workdir: Path, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    """Run Chromium once on ``page`` with a fresh profile in ``workdir`` (nothing is shared
    with another run or with the user's own browser)."""
    command: Sequence[str] = [
        chromium, *HEADLESS, f"--user-data-dir={workdir / 'profile'}", *arguments, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, timeout=timeout, check=False)


def html_to_pdf(html: str, chromium: str | None = None) -> bytes:
    """The HTML printed to PDF (A4, as its ``@page`` rule says; no header or footer)."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise PdfEngineMissing
    with tempfile.TemporaryDirectory(prefix="slabot-pdf-") as folder:
        workdir = Path(folder)
        page, pdf = workdir / "statement.html", workdir / "statement.pdf"
        page.write_text(html, encoding="utf-8")
        try:
            done = headless(
                chromium, page, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", workdir=workdir
            )
        except subprocess.TimeoutExpired:
            raise PdfEngineFailed(f"Chromium did not finish the PDF in {TIMEOUT:.0f} s") from None
        if not pdf.exists() or not pdf.read_bytes().startswith(b"%PDF"):
            errors = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise PdfEngineFailed(
                f"Chromium made no PDF (exit status {done.returncode}): " + " | ".join(errors)
            )
        return pdf.read_bytes()
