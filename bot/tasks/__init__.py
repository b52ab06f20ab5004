"""The task outbox: work outside the database (Slack calls, pages) that a fact calls for,
written in the fact's own transaction and done once by whichever process claims it.

- ``registry``: what a task kind's handler is and says (``Done``, ``Retry``, ``Failed``).
- ``service``: schedule a task, run one now, and the worker's claim / mark cycle.
- ``kinds``: the modules that register handlers (imported by whoever runs tasks).
"""
