"""slabot: SLA clocks, reminders, uptime and credits for incidents declared in Slack."""
