"""The one error a service raises on purpose."""


class Refusal(Exception):
    """An action that makes no sense now. The message says what was wrong and what is
    accepted; the unit of work is rolled back, so nothing changed.

    ``field`` names the fact at fault when there is one (``restored_at``): a form shows the
    message beside that field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field
