"""Reliability drills: long runs of slabot under faults that print their figures (docs/drills.md)."""
