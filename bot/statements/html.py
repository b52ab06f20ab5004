"""A statement as one self-contained HTML file: inline CSS, the chart as inline SVG, no
script, no external font or image. It prints on A4 (``@page``), and the PDF is this file
printed by a browser engine (``bot.statements.pdf``)."""

from __future__ import annotations

from html import escape

from bot.reports.statement import Statement
from bot.sla.credits import decimal_pct
from bot.statements import words
from bot.statements.chart import downtime_svg
from bot.text import plural

STYLE = """
@page { size: A4; margin: 15mm 14mm 16mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: #212529; background: #fff; font: 9.5pt/1.4 "DejaVu Sans",
  "Liberation Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; }
main { max-width: 182mm; margin: 0 auto; padding: 10mm 0; }
@media print { main { max-width: none; padding: 0; } }
header { border-bottom: 3px solid #1d3557; padding-bottom: 3mm; }
header .kind { text-transform: uppercase; letter-spacing: .08em; font-size: 8pt; color: #6c757d; }
h1 { font-size: 18pt; margin: 1mm 0 1mm; color: #1d3557; }
header p { margin: .5mm 0; color: #495057; }
h2 { font-size: 12pt; color: #1d3557; margin: 6mm 0 2mm; padding-bottom: 1mm;
  border-bottom: 1px solid #adb5bd; break-after: avoid; }
h3 { font-size: 10pt; margin: 3mm 0 1mm; break-after: avoid; }
.summary { display: grid; gap: 3mm; margin-top: 4mm; }
.figure { border: 1px solid #ced4da; border-radius: 2mm; padding: 2.5mm 3mm; }
.figure .label { font-size: 8pt; color: #6c757d; text-transform: uppercase; letter-spacing: .05em; }
.figure .value { font-size: 13pt; font-weight: 700; margin: .5mm 0; }
.figure .more { font-size: 8.5pt; color: #495057; }
.met { color: #2a7d4f; } .missed { color: #c1121f; }
dl { display: grid; grid-template-columns: 38mm 1fr; gap: 1mm 4mm; margin: 0; }
dt { color: #6c757d; } dd { margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: 8.5pt; margin: 1mm 0 2mm; }
thead { display: table-header-group; }
tfoot { display: table-row-group; }  /* a total once, under the last row, not on every page */
th { text-align: left; font-weight: 600; color: #495057; border-bottom: 1.5px solid #495057; }
th, td { padding: 1.2mm 1.5mm; vertical-align: top; }
td { border-bottom: 1px solid #dee2e6; }
.num { text-align: right; white-space: nowrap; }
.nowrap { white-space: nowrap; }
tfoot td { font-weight: 700; border-top: 1.5px solid #495057; border-bottom: none; }
tr { break-inside: avoid; }
.note { color: #6c757d; font-size: 8pt; }
figure { margin: 2mm 0 3mm; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 1mm; }
svg.chart { display: block; max-width: 100%; height: auto; }
.formula { font-variant-numeric: tabular-nums; }
footer { margin-top: 8mm; padding-top: 2mm; border-top: 1px solid #adb5bd; color: #6c757d;
  font-size: 7.5pt; }
"""


def _e(text: object) -> str:
    return escape(str(text))


def render_html(statement: Statement) -> str:
    """The statement as one HTML document (UTF-8 text)."""
    customer, figures, zone = statement.customer, statement.figures, statement.zone
    policy = customer.policy
    title = f"SLA statement — {customer.name} — {words.period_title(statement)}"
    body = [
        "<header>",
        '<div class="kind">Service-level statement</div>',
        f"<h1>{_e(customer.name)} · {_e(words.period_title(statement))}</h1>",
        f"<p>{_e(policy.source or policy.name)}</p>",
        f"<p>Times are in {_e(zone)}. Made {_e(words.when(statement.as_of, zone))} from "
        "the incident records as they stood then.</p>",
        "</header>",
        _summary(statement),
        _contract(statement),
    ]
    if figures.uptime is not None:
        body += [_uptime(statement), _outages(statement), _exclusions(statement)]
    if statement.responses is not None:
        body.append(_responses(statement))
    body += [_credits(statement), _footer(statement)]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _figure(label: str, value: str, more: str, css: str = "") -> str:
    cls = f' class="value {css}"' if css else ' class="value"'
    return (
        f'<div class="figure"><div class="label">{_e(label)}</div>'
        f'<div{cls}>{_e(value)}</div><div class="more">{more}</div></div>'
    )


def _summary(statement: Statement) -> str:
    figures = statement.figures
    up = figures.uptime
    cards = []
    if up is not None and figures.commitment_pct is not None:
        verdict = "met" if figures.met else "not met"
        cards.append(
            _figure(
                "Uptime",
                words.uptime(statement),
                f"commitment {_e(decimal_pct(figures.commitment_pct))}: "
                f'<span class="{"met" if figures.met else "missed"}">{verdict}</span>',
                "met" if figures.met else "missed",
            )
        )
        cards.append(
            _figure(
                "Downtime",
                words.total(up.downtime),
                f"{_e(words.minutes(up.downtime_minutes))} of "
                f"{_e(words.minutes(up.available_minutes))} minutes",
            )
        )
        cards.append(
            _figure(
                "Excluded",
                words.total(up.excluded),
                f"{_e(words.minutes(up.excluded_minutes))} minutes not counted",
            )
        )
    if statement.responses is not None:
        cards.append(
            _figure(
                "Responses missed",
                str(statement.missed_responses),
                f"of {plural(len(statement.responses), 'request')} in the period",
                "missed" if statement.missed_responses else "met",
            )
        )
    dated = [c.line for c in statement.credits if c.line.claim_deadline]
    claim = "&nbsp;"
    if dated:
        first = min(
            dated, key=lambda line: (line.claim_expired(figures.today), line.claim_deadline)
        )
        claim = f"claim by {_e(words.claim_day(first, figures.today))}"
    cards.append(_figure("Credits owed", words.owed(statement), claim))
    columns = f"grid-template-columns: repeat({len(cards)}, 1fr)"
    return f'<section class="summary" style="{columns}">' + "".join(cards) + "</section>"


def _contract(statement: Statement) -> str:
    customer, zone = statement.customer, statement.zone
    policy = customer.policy
    rows = [("Contract", policy.source or policy.name)]
    commitment = words.commitment(policy, zone)
    if commitment is not None and policy.uptime is not None:
        rows.append(("Uptime commitment", commitment + words.cited(policy.uptime.clause)))
    rows += words.contract_terms(policy)
    if customer.fee is not None:
        fee = customer.fee
        rows.append(("Fee", f"{fee.amount:,.2f} {fee.currency} per {fee.per}"))
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    return f"<section><h2>The contract</h2><dl>{items}</dl></section>"


def _uptime(statement: Statement) -> str:
    figures, zone = statement.figures, statement.zone
    up = figures.uptime
    assert up is not None
    parts = [
        "<section><h2>Uptime</h2>",
        '<p class="formula">Uptime = (available − downtime) ÷ available × 100 = '
        f"({_e(words.minutes(up.available_minutes))} − {_e(words.minutes(up.downtime_minutes))})"
        f" ÷ {_e(words.minutes(up.available_minutes))} × 100 = "
        f"<strong>{_e(words.uptime(statement))}</strong>, cut (never rounded up) to four "
        "decimals. Available minutes are every real minute of the period; downtime is the "
        "time at least one outage affected you, minus the excluded time.</p>",
    ]
    if figures.is_running:
        parts.append(f"<p>{_e(words.running(statement))}</p>")
    for chart in statement.charts:
        parts.append(
            f"<figure><figcaption>{_e(words.chart_title(chart, zone))}</figcaption>"
            f"{downtime_svg(chart, zone)}</figure>"
        )
    parts.append("</section>")
    return "".join(parts)


def _outages(statement: Statement) -> str:
    zone, up = statement.zone, statement.figures.uptime
    assert up is not None
    if not statement.outages:
        return (
            f"<section><h2>Outages</h2><p>No outage affected {_e(statement.customer.name)} "
            "in this period.</p></section>"
        )
    rows = []
    for o in statement.outages:
        notes = [o.severity]
        notes += [f"excluded: {o.excluded_reason}"] if o.excluded_reason else []
        notes += list(o.notes)
        rows.append(
            f'<tr><td class="nowrap"><strong>{_e(o.ref)}</strong></td><td>{_e(o.title)}'
            + "".join(f'<div class="note">{_e(note)}</div>' for note in notes)
            + f"</td><td>{_e(words.at(o.start, zone))}</td>"
            f"<td>{_e(words.at(o.end, zone, missing='still open'))}</td>"
            f'<td class="num">{_e(words.minutes(o.counted))}</td></tr>'
        )
    return (
        "<section><h2>Outages</h2>"
        "<p>Each outage from its impact start to service restored. Time two outages share "
        "counts once; excluded time counts nothing.</p>"
        "<table><thead><tr><th>Incident</th><th>What happened</th><th>Start</th><th>End</th>"
        '<th class="num">Minutes counted</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>"
        '<tfoot><tr><td colspan="4">Downtime</td>'
        f'<td class="num">{_e(words.minutes(up.downtime_minutes))}</td></tr></tfoot>'
        "</table></section>"
    )


def _exclusions(statement: Statement) -> str:
    zone, up = statement.zone, statement.figures.uptime
    assert up is not None
    if not statement.exclusions:
        return (
            "<section><h2>Exclusions</h2><p>No maintenance and no excluded outage in this "
            "period.</p></section>"
        )
    rows = []
    for x in statement.exclusions:
        announced = (
            f'<div class="note">announced {_e(words.at(x.announced_at, zone))}</div>'
            if x.announced_at is not None
            else ""
        )
        rows.append(
            f'<tr><td class="nowrap"><strong>{_e(x.ref)}</strong></td>'
            f"<td>{_e(x.title)}{announced}</td>"
            f"<td>{_e(words.at(x.start, zone))}</td>"
            f"<td>{_e(words.at(x.end, zone, missing='still open'))}</td>"
            f"<td>{_e(words.why(x))}</td>"
            f'<td class="num">{_e(words.minutes(x.minutes))}</td></tr>'
        )
    return (
        "<section><h2>Exclusions</h2>"
        "<p>Maintenance is not downtime by itself: an excluded window takes out of downtime "
        "the outage time that fell in it. An outage marked excluded counts nothing.</p>"
        "<table><thead><tr><th>Ref</th><th>What</th><th>Start</th><th>End</th><th>Why</th>"
        '<th class="num">Minutes excluded</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>"
        '<tfoot><tr><td colspan="5">Excluded</td>'
        f'<td class="num">{_e(words.minutes(up.excluded_minutes))}</td></tr></tfoot>'
        "</table></section>"
    )


def _responses(statement: Statement) -> str:
    zone = statement.zone
    misses = statement.customer.policy.response_misses
    responses = statement.responses or ()
    assert misses is not None
    intro = (
        "<p>Each request's first response against the target the contract sets, on its clock"
        f"{_e(words.cited(misses.clause))}. {statement.missed_responses} of {len(responses)} "
        f"missed; more than {misses.more_than} missed in a {misses.period} owes "
        f"{_e(decimal_pct(misses.percent))} of the "
        f"{'annual' if misses.period == 'year' else 'monthly'} fee.</p>"
    )
    if not responses:
        return (
            f"<section><h2>Response times</h2>{intro}<p>No requests in this period.</p></section>"
        )
    rows = []
    for r in responses:
        result = words.response_result(r)
        css = {"missed": "missed", "met": "met"}.get(result, "")
        rows.append(
            f'<tr><td class="nowrap"><strong>{_e(r.ref)}</strong></td><td>{_e(r.title)}'
            f'<div class="note">target {_e(words.target(r))}</div></td>'
            f"<td>{_e(words.at(r.reported_at, zone))}</td>"
            f"<td>{_e(words.at(r.due, zone))}</td>"
            f"<td>{_e(words.at(r.responded_at, zone, missing='none yet'))}</td>"
            f'<td class="num">{_e(words.span(r.taken))}</td>'
            f'<td class="{css}"><strong>{_e(result)}</strong></td></tr>'
        )
    return (
        f"<section><h2>Response times</h2>{intro}"
        "<table><thead><tr><th>Request</th><th>Subject</th><th>Reported</th><th>Due</th>"
        '<th>First response</th><th class="num">Time taken</th><th>Result</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _credits(statement: Statement) -> str:
    figures = statement.figures
    claim = f"<p><strong>{_e(words.claim(statement))}</strong></p>"
    if not statement.credits:
        return f"<section><h2>Credits owed</h2><p>This period owes no credit.</p>{claim}</section>"
    rows = []
    for index, owed in enumerate(statement.credits):
        line = owed.line
        deadline = words.claim_day(line, figures.today)
        rows.append(
            f"<tr><td>{_e(line.reason)}</td><td>{_e(owed.clause or '—')}</td>"
            f'<td class="num">{_e(decimal_pct(line.percent))} of the {_e(line.fee)} fee</td>'
            f'<td class="num">{_e(words.credit_amount(statement, index))}</td>'
            f'<td class="nowrap">{_e(deadline)}</td></tr>'
        )
    total = ""
    if figures.credit_amount is not None:
        total = (
            f'<tfoot><tr><td colspan="3">Owed in total</td>'
            f'<td class="num">{_e(words.owed(statement))}</td><td></td></tr></tfoot>'
        )
    note = ""
    if any(n.startswith("no fee on file") for n in figures.notes):
        note = '<p class="note">No fee is on file: credits are shares of the fee.</p>'
    return (
        "<section><h2>Credits owed</h2>"
        '<table><thead><tr><th>Credit</th><th>Clause</th><th class="num">Share</th>'
        '<th class="num">Amount</th><th>Claim by</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>{total}</table>{note}{claim}</section>"
    )


def _footer(statement: Statement) -> str:
    return (
        f"<footer>Made by slabot from the incident records as of "
        f"{_e(words.when(statement.as_of, statement.zone))}. Uptime is shown cut, never rounded "
        "up, to four decimals; minutes to three decimals and amounts to cents, rounded "
        "half-up.</footer>"
    )
