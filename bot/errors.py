"""The one error a service raises on purpose."""


class Refusal(Exception):
    """An action that makes no sense now. The message says what was wrong and what is
    accepted; the unit of work is rolled back, so nothing changed."""
