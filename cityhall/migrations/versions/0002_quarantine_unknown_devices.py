"""quarantine unknown devices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:56:08.331757
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "category",
                sa.Enum(
                    "malformed",
                    "unknown_device",
                    name="deadlettercategory",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="malformed",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("replayed_at", cityhall.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_dead_letters_quarantine", ["category", "replayed_at", "device"], unique=False
        )
    # Letters kept before this revision for unknown devices join the quarantine, so they too can be replayed.
    op.execute(
        "UPDATE dead_letters SET category = 'unknown_device' WHERE reason LIKE 'device: unknown device%'"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letters_quarantine")
        batch_op.drop_column("replayed_at")
        batch_op.drop_column("category")
