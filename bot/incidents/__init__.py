"""Incidents: declared, acknowledged, updated, re-graded, paused, restored, resolved."""
