"""A statement as Markdown: the HTML document's sections and figures as headings and tables
(the chart as a table of the days or months with downtime), for an e-mail or a ticket."""

from __future__ import annotations

from bot.reports.statement import Statement
from bot.sla.credits import decimal_pct
from bot.statements import words


def _cell(text: object) -> str:
    """Table cell text: a ``|`` or a line break would break the table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if h.endswith("(min)") else "---" for h in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(statement: Statement) -> str:
    customer, figures, zone = statement.customer, statement.figures, statement.zone
    policy = customer.policy
    up = figures.uptime
    out = [
        f"# SLA statement: {_cell(customer.name)}, {words.period_title(statement)}",
        "",
        f"{policy.source or policy.name}. Times are in {zone}. Made "
        f"{words.when(statement.as_of, zone)} from the incident records as they stood then.",
        "",
        "## Summary",
        "",
    ]
    if up is not None and figures.commitment_pct is not None:
        out += [
            f"- **Uptime:** {words.uptime(statement)} (commitment "
            f"{decimal_pct(figures.commitment_pct)}: {'met' if figures.met else 'not met'})",
            f"- **Downtime:** {words.total(up.downtime)} ({words.minutes(up.downtime_minutes)} of "
            f"{words.minutes(up.available_minutes)} minutes)",
            f"- **Excluded:** {words.total(up.excluded)} ({words.minutes(up.excluded_minutes)} "
            "minutes not counted)",
        ]
    if statement.responses is not None:
        out.append(
            f"- **Responses missed:** {statement.missed_responses} of {len(statement.responses)}"
        )
    out += [f"- **Credits owed:** {words.owed(statement)}", f"- {words.claim(statement)}", ""]

    out += ["## The contract", ""]
    commitment = words.commitment(policy, zone)
    if commitment is not None and policy.uptime is not None:
        out.append(f"- **Uptime commitment:** {commitment}{words.cited(policy.uptime.clause)}")
    out += [f"- **{what}:** {text}" for what, text in words.contract_terms(policy)]
    if customer.fee is not None:
        fee = customer.fee
        out.append(f"- **Fee:** {fee.amount:,.2f} {fee.currency} per {fee.per}")
    out.append("")

    if up is not None:
        out += [
            "## Uptime",
            "",
            f"({words.minutes(up.available_minutes)} − {words.minutes(up.downtime_minutes)}) ÷ "
            f"{words.minutes(up.available_minutes)} × 100 = **{words.uptime(statement)}**, cut "
            "(never rounded up) to four decimals.",
            "",
        ]
        if figures.is_running:
            out += [words.running(statement), ""]
        for chart in statement.charts:
            out += [f"### {words.chart_title(chart, zone)}", ""]
            rows = [
                [
                    words.bar_name(chart, b.start, zone),
                    words.minutes(b.downtime),
                    words.minutes(b.excluded),
                ]
                for b in chart.bars
                if b.downtime or b.excluded
            ]
            if rows:
                unit = "Day" if chart.unit == "day" else "Month"
                rows.append(["**Total**", words.minutes(chart.downtime), ""])
                out += _table([unit, "Downtime (min)", "Excluded (min)"], rows)
            else:
                out.append("No downtime.")
            out.append("")

        out += ["## Outages", ""]
        if statement.outages:
            rows = []
            for o in statement.outages:
                notes = [f"excluded: {o.excluded_reason}"] if o.excluded_reason else []
                notes += list(o.notes)
                rows.append([
                    o.ref, o.title + (f" ({'; '.join(notes)})" if notes else ""), o.severity,
                    words.at(o.start, zone), words.at(o.end, zone, missing="still open"),
                    words.minutes(o.counted),
                ])  # fmt: skip
            rows.append(["**Downtime**", "", "", "", "", words.minutes(up.downtime_minutes)])
            out += _table(
                ["Incident", "What happened", "Severity", "Start", "End", "Counted (min)"], rows
            )
        else:
            out.append(f"No outage affected {customer.name} in this period.")
        out.append("")

        out += ["## Exclusions", ""]
        if statement.exclusions:
            rows = [
                [
                    x.ref,
                    x.title
                    + (f" (announced {words.at(x.announced_at, zone)})" if x.announced_at else ""),
                    words.at(x.start, zone),
                    words.at(x.end, zone, missing="still open"),
                    words.why(x),
                    words.minutes(x.minutes),
                ]
                for x in statement.exclusions
            ]
            rows.append(["**Excluded**", "", "", "", "", words.minutes(up.excluded_minutes)])
            out += _table(["Ref", "What", "Start", "End", "Why", "Excluded (min)"], rows)
        else:
            out.append("No maintenance and no excluded outage in this period.")
        out.append("")

    if statement.responses is not None:
        misses = policy.response_misses
        assert misses is not None
        out += [
            "## Response times",
            "",
            f"{statement.missed_responses} of {len(statement.responses)} first responses missed "
            f"the target{words.cited(misses.clause)}; more than {misses.more_than} missed in a "
            f"{misses.period} owes {decimal_pct(misses.percent)} of the "
            f"{'annual' if misses.period == 'year' else 'monthly'} fee.",
            "",
        ]
        if statement.responses:
            out += _table(
                ["Request", "Subject", "Target", "Reported", "Due", "First response", "Taken",
                 "Result"],
                [
                    [
                        r.ref, r.title, words.target(r), words.at(r.reported_at, zone),
                        words.at(r.due, zone),
                        words.at(r.responded_at, zone, missing="none yet"),
                        words.span(r.taken), words.response_result(r),
                    ]
                    for r in statement.responses
                ],
            )  # fmt: skip
            out.append("")

    out += ["## Credits owed", ""]
    if statement.credits:
        rows = [
            [
                owed.line.reason,
                owed.clause or "—",
                f"{decimal_pct(owed.line.percent)} of the {owed.line.fee} fee",
                words.credit_amount(statement, index),
                words.claim_day(owed.line, statement.figures.today),
            ]
            for index, owed in enumerate(statement.credits)
        ]
        out += _table(["Credit", "Clause", "Share", "Amount", "Claim by"], rows)
        out += ["", f"**Owed in total: {words.owed(statement)}.**"]
    else:
        out.append("This period owes no credit.")
    out += ["", words.claim(statement), ""]
    return "\n".join(out)
