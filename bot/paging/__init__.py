"""Pages out: PagerDuty and Opsgenie when a breach escalates (``bot.paging.service``)."""
