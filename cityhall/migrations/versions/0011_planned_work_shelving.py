"""planned work: a preventive-maintenance schedule can shelve its device's alarms while the work lasts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: existing schedules shelve nothing."""
    with op.batch_alter_table("maintenance_schedules") as batch:
        batch.add_column(sa.Column("shelve_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("maintenance_schedules") as batch:
        batch.drop_column("shelve_minutes")
