"""alerts: the alerts and alert groups slabot took in, and the incidents they joined

- ``alert_key``: one row per alert key (Alertmanager/Grafana fingerprint or group key,
  PagerDuty incident key, Opsgenie alias); ``claim`` (unique, empty once released) keeps a
  key on one open incident or waiting proposal at a time.

Revision ID: 0009_alerts
Revises: 0008_maintenance
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0009_alerts"
down_revision: str | None = "0008_maintenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("claim", sa.String(length=220), nullable=True),
        sa.Column("anchor_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("proposal", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim"),
    )
    with op.batch_alter_table("alert_key", schema=None) as batch_op:
        batch_op.create_index("ix_alert_key_anchor_id", ["anchor_id"], unique=False)
        batch_op.create_index("ix_alert_key_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_key", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_key_incident_id")
        batch_op.drop_index("ix_alert_key_anchor_id")
    op.drop_table("alert_key")
