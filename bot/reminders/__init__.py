"""Reminders: the outbox the worker drains."""
