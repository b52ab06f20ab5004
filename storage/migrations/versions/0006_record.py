"""record: breaches that stand, corrected periods for the digest, when events were recorded

- ``breach``: a deadline that passed unmet, as the timer stood then (timer, contract,
  target, grade, due, when and how slabot noticed), kept whatever a re-grade or a
  correction does to the timer afterwards.
- ``corrected_period``: a customer's contract period whose figures a correction may have
  changed after a weekly digest had shown it, with its figures before the correction.
- ``timeline_event.recorded_at``: when slabot wrote the event (``ack at 10:05`` happened
  at 10:05 and was recorded later); empty for earlier events.

Revision ID: 0006_record
Revises: 0005_slack
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006_record"
down_revision: str | None = "0005_slack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("timer", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("contract", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("noticed_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "timer", "due_at"),
    )
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.create_index("ix_breach_due_at", ["due_at"], unique=False)
        batch_op.create_index("ix_breach_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_breach_noticed_at", ["noticed_at"], unique=False)

    op.create_table(
        "corrected_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period_start", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("corrected_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["timeline_event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("corrected_period", schema=None) as batch_op:
        batch_op.create_index("ix_corrected_period_corrected_at", ["corrected_at"], unique=False)
        batch_op.create_index("ix_corrected_period_incident_id", ["incident_id"], unique=False)

    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
    with op.batch_alter_table("corrected_period", schema=None) as batch_op:
        batch_op.drop_index("ix_corrected_period_incident_id")
        batch_op.drop_index("ix_corrected_period_corrected_at")
    op.drop_table("corrected_period")
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_noticed_at")
        batch_op.drop_index("ix_breach_incident_id")
        batch_op.drop_index("ix_breach_due_at")
    op.drop_table("breach")
