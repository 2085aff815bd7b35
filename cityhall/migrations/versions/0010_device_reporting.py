"""device reporting: each device's payload family and what the register says of how it reports

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: every existing device is native with the defaults of its kind."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(
            sa.Column(
                "payload_format",
                sa.Enum(
                    "native",
                    "tasmota",
                    "shelly_gen2",
                    name="payloadformat",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="native",
            )
        )
        batch.add_column(sa.Column("reporting", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("reporting")
        batch.drop_column("payload_format")
