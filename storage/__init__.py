"""The only package that knows SQL: tables, sessions, migrations and queries."""
