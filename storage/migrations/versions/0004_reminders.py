"""reminders: an index for the worker's "when is the next retry due" question

Revision ID: 0004_reminders
Revises: 0003_digest

An idle worker asks, every poll, when the next reminder falls due. Pending reminders that
wait for a retry (``next_attempt_at``) are found through this index instead of a scan of
every pending reminder.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_reminders"
down_revision: str | None = "0003_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminder_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_status_next_attempt")
