"""The pure SLA engine: calendars, clocks, timers, reminder plans, uptime and credits.

No I/O and no clock reads: every function takes the instants it needs. docs/semantics.md
says in words what this package computes.
"""
