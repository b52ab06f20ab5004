"""``slabot statement`` on the fixture history: the file it writes shows ``slabot report``'s
figures; a refusal exits 1; a PDF without Chromium says what to install and exits 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.statements import pdf


def slabot(*args: str):
    return CliRunner().invoke(main, list(args))


def test_the_statement_shows_the_reports_figures(cli_history):
    """The same customer and period through both commands, as a person compares them."""
    report = slabot("report", "--period", "2026-10", "--customer", "nordlys", "--format", "json")
    (figures,) = json.loads(report.stdout)["customers"]
    result = slabot("statement", "--customer", "nordlys", "--period", "2026-10", "--format", "md",
                    "--out", "-")  # fmt: skip
    assert result.exit_code == 0, result.output
    markdown = result.stdout
    # 99.5525 % of 44,700 minutes with 200 down; 1,500.00 DKK; claim by 2026-11-30.
    assert f"**Uptime:** {figures['uptime_pct']} %" in markdown
    assert (
        f"{figures['downtime_minutes']:,.0f} of {figures['available_minutes']:,.0f} minutes"
        in markdown
    )
    assert f"{figures['credit_amount']:,.2f} {figures['currency']}" in markdown
    assert figures["claim_deadline"] == "2026-11-30" and "Claim by 30 November 2026." in markdown
    assert (figures["uptime_pct"], figures["downtime_minutes"]) == (99.5525, 200.0)


def test_the_file_is_written_where_asked_or_under_its_own_name(cli_history, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = slabot("statement", "--customer", "Nordlys ApS", "--period", "2026-10")
    assert result.exit_code == 0, result.output
    assert (
        result.stderr == "wrote slabot-statement-nordlys-2026-10.html: Nordlys ApS, October 2026\n"
    )
    page = (tmp_path / "slabot-statement-nordlys-2026-10.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "99.5525 %" in page
    result = slabot("statement", "--customer", "umbrella", "--period", "2026-10", "--format",
                    "md", "--out", str(tmp_path / "umbrella.md"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5,000.00 EUR" in (tmp_path / "umbrella.md").read_text(encoding="utf-8")


def test_a_pdf_by_the_command(cli_history, chromium, tmp_path):
    result = slabot("statement", "--customer", "nordlys", "--period", "2026-10", "--format",
                    "pdf", "--out", str(tmp_path / "nordlys.pdf"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "nordlys.pdf").read_bytes().startswith(b"%PDF-")


def test_a_pdf_without_chromium_says_what_to_install_and_exits_2(
    cli_history, tmp_path, monkeypatch
):
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    result = slabot("statement", "--customer", "nordlys", "--period", "2026-10", "--format",
                    "pdf", "--out", str(tmp_path / "nordlys.pdf"))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "slabot: --format pdf needs headless Chromium, and none is installed (looked for "
        "chromium, chromium-browser, google-chrome, google-chrome-stable on PATH); install it "
        "(Debian/Ubuntu: apt-get install chromium) or use --format html"
    ]
    assert not (tmp_path / "nordlys.pdf").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--customer", "nordlis", "--period", "2026-10"], "did you mean 'nordlys'?"),
        (["--customer", "nordlys", "--period", "2026/10"], "'2026/10' is not a period"),
        (["--customer", "nordlys", "--period", "2027"], "2027 has not begun yet"),
    ],
)
def test_a_refusal_is_one_line_and_exit_1(cli_history, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    result = slabot("statement", *args)
    assert result.exit_code == 1
    assert says in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
