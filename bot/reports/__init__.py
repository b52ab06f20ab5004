"""Uptime, credit and refund reports per customer: ``slabot report``, App Home and the digest."""
