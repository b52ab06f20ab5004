"""Alerts in: monitoring tools' webhooks (``hooks``) read into one shape (``sources``),
matched by the rules file (``rules``), declared, joined and restored (``service``), and
said in Slack (``announce``)."""
