"""Column types: instants that come back UTC-aware on SQLite and PostgreSQL alike, and a
domain word (a ``StrEnum``) that comes back as its member."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString


class UTCDateTime(TypeDecorator):
    """An aware instant, stored as UTC.

    PostgreSQL keeps it in ``timestamptz``. SQLite has no time type: SQLAlchemy stores a
    fixed-width text ``YYYY-MM-DD HH:MM:SS.ffffff`` without an offset, so the value is
    written in UTC with the offset removed (which keeps text order equal to time order)
    and given back its UTC zone when read. A naive datetime is refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} cannot be stored; pass an aware instant"
            )
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        """On SQLite, the stored text is read straight into an aware instant; elsewhere an
        instant that comes back in UTC is kept as it is.

        One step instead of SQLAlchemy's text-to-naive parse followed by the zone (or a
        conversion to the zone it already has): a year's report reads a few hundred thousand
        instants.
        """
        if dialect.name != "sqlite":
            convert = super().result_processor(dialect, coltype)

            def process_aware(value):  # already UTC, as the session's zone is: nothing to do
                if value is None or value.tzinfo is dt.UTC:
                    return value
                return convert(value)

            return process_aware
        fallback = super().result_processor(dialect, coltype)
        parse = dt.datetime.fromisoformat

        def process(value):
            if value is None:
                return None
            if isinstance(value, str):
                return parse(value + "+00:00")  # stored in UTC; parsed aware at once
            return fallback(value)

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Word(TypeDecorator):
    """One of a ``StrEnum``'s members, stored as its value in a plain ``VARCHAR``.

    No database enum type: the column is the text column it always was, so adding a member
    needs no migration. A value that is not a member is refused on the way in (a typo
    never reaches a row) and, read back, each value is its member again.
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int):
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)
