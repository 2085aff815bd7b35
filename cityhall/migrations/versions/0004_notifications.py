"""notification log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "held",
                "sent",
                "digested",
                "cancelled",
                "failed",
                name="deliverystatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_start", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_notification_log_alarm_id_alarms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["notification_log.id"],
            name=op.f("fk_notification_log_digest_id_notification_log"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_notification_log_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
        sa.UniqueConstraint("key", "channel", "recipient", name="uq_notification_log_key_channel_recipient"),
    )
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.create_index("ix_notification_log_queue", ["status", "channel", "recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_log_alarm_id"), ["alarm_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_log_key"), ["key"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_log_key"))
        batch_op.drop_index(batch_op.f("ix_notification_log_alarm_id"))
        batch_op.drop_index("ix_notification_log_queue")
    op.drop_table("notification_log")
