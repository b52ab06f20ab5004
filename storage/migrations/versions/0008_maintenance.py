"""maintenance: windows can be cancelled and moved, with a history of who did what

- ``maintenance_window.cancelled_at`` / ``cancelled_by``: called off (before it started: it
  excludes nothing).
- ``maintenance_event``: each announcement, move and cancellation, with before → after.

Revision ID: 0008_maintenance
Revises: 0007_tasks
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0008_maintenance"
down_revision: str | None = "0007_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancelled_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancelled_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_table(
        "maintenance_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["maintenance_id"], ["maintenance_window.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_event_maintenance_id", ["maintenance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_event", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_event_maintenance_id")
    op.drop_table("maintenance_event")
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancelled_at")
