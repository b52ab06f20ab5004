"""digest: one row per ISO week and recipient of the weekly digest

Revision ID: 0003_digest
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003_digest"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("week", "recipient"),
    )
    with op.batch_alter_table("digest_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_digest_delivery_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_delivery_status_due")
    op.drop_table("digest_delivery")
