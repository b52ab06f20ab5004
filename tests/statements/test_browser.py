"""Statements as a person sees them: the HTML rendered by headless Chromium (a screenshot and
the page's text), and the PDF Chromium prints from it (its pages as pictures, its text).

Each seed contract's statement is rendered once for the module, in parallel (every Chromium
start is a second or so); without Chromium or poppler-utils these tests are skipped locally
and fail under CI (tests/statements/conftest.py).
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.statements import render
from bot.statements.html import render_html
from bot.statements.pdf import headless
from tests.statements.conftest import SEEDS
from tests.statements.test_documents import FIGURES

WIDTH, HEIGHT = 1000, 1600
RED = (0xC1, 0x12, 0x1F)  # the chart's downtime bars


@dataclass(frozen=True)
class Seen:
    screenshot: Image.Image
    text: str
    """The page's text as the browser laid it out (``--dump-dom``, tags removed)."""
    pdf: bytes
    pdf_text: str
    pdf_pages: list[Image.Image]
    pdf_info: str


def _look(chromium: str, statement, folder: Path) -> Seen:
    folder.mkdir(parents=True)
    page = folder / "statement.html"
    page.write_text(render_html(statement), encoding="utf-8")
    shot = folder / "screenshot.png"
    headless(
        chromium, page, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
        workdir=folder / "shot",
    )  # fmt: skip
    dom = headless(chromium, page, "--dump-dom", workdir=folder / "dom").stdout.decode()
    pdf = render(statement, "pdf", chromium=chromium)
    (folder / "statement.pdf").write_bytes(pdf)
    pdf_text = _run("pdftotext", folder / "statement.pdf", "-").decode()
    _run("pdftoppm", "-png", "-r", "40", folder / "statement.pdf", folder / "page")
    pages = [Image.open(p).convert("RGB") for p in sorted(folder.glob("page*.png"))]
    info = _run("pdfinfo", folder / "statement.pdf").decode()
    text = re.sub(r"<[^>]+>", " ", dom.split("<body>", 1)[-1])
    text = text.replace("&amp;", "&").replace("&#39;", "'").replace("&nbsp;", " ")
    return Seen(Image.open(shot).convert("RGB"), text, pdf, pdf_text, pages, info)


def _run(*command) -> bytes:
    return subprocess.run(
        [str(c) for c in command], capture_output=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def seen(seed_statements, chromium, poppler, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("seen")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            key: pool.submit(_look, chromium, seed_statements[key], root / "-".join(key))
            for key in SEEDS
        }
        return {key: future.result() for key, future in futures.items()}


def ink(image: Image.Image) -> float:
    """The share of pixels that are not (nearly) white."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[246:]) / (grey.width * grey.height)


def reds(image: Image.Image) -> int:
    """How many pixels have the chart's downtime red."""
    pixels = np.asarray(image, dtype=np.int16)
    return int((np.abs(pixels - np.array(RED)).max(axis=2) < 30).sum())


def colours(image: Image.Image) -> int:
    return len(np.unique(np.asarray(image).reshape(-1, 3), axis=0))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_the_page_is_drawn_not_blank(seen, key):
    shot = seen[key].screenshot
    assert shot.size == (WIDTH, HEIGHT)
    assert 0.03 < ink(shot) < 0.6  # text, rules and a chart on a white page
    assert colours(shot.resize((200, 320))) > 50  # not one colour: text is drawn
    assert reds(shot) > 200  # the chart's downtime bars were drawn (each seed has downtime)


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_the_page_holds_the_figures(seen, key):
    text = flat(seen[key].text)
    for figure in FIGURES[key]:
        assert flat(figure) in text, figure


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_the_pdf_is_a4_drawn_and_holds_the_figures(seen, key):
    found = seen[key]
    assert found.pdf.startswith(b"%PDF-")
    assert re.search(r"Page size:\s+594\.9\d x 841\.9\d pts \(A4\)", found.pdf_info)
    pages = int(re.search(r"Pages:\s+(\d+)", found.pdf_info).group(1))
    assert 1 <= pages <= 4 and len(found.pdf_pages) == pages
    assert all(0.01 < ink(page) < 0.6 for page in found.pdf_pages[:-1])
    assert ink(found.pdf_pages[0]) > 0.03
    assert sum(reds(page) for page in found.pdf_pages) > 10  # the chart made it into the PDF
    text = flat(found.pdf_text)
    for figure in FIGURES[key]:
        assert flat(figure) in text, figure
