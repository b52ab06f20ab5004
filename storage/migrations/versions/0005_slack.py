"""slack: case-insensitive reference lookups use an index

``/incident status inc-7`` and every change look an incident up by ``upper(ref)``; without
an index on that expression each lookup read the whole incident table (70 ms at 100,000
incidents on SQLite). Maintenance windows are looked up the same way.

Revision ID: 0005_slack
Revises: 0004_reminders
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_slack"
down_revision: str | None = "0004_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incident_ref_upper", "incident", [sa.text("upper(ref)")])
    op.create_index(
        "ix_maintenance_window_ref_upper", "maintenance_window", [sa.text("upper(ref)")]
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_window_ref_upper", table_name="maintenance_window")
    op.drop_index("ix_incident_ref_upper", table_name="incident")
