"""The worker: posts what falls due — reminders and the weekly digest — each once.

``loop`` is the loop (claim, post, mark, sleep until the next due row); ``sources`` are the
kinds of due work it asks, side by side. ``slabot worker`` and ``slabot run`` start a
``Worker`` with a client from ``worker_client``.
"""

from bot.worker.loop import Worker, worker_client

__all__ = ["Worker", "worker_client"]
