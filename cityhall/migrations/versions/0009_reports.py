"""reports: generated energy-conservation committee reports with their PDF, HTML and XLSX files

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-27 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "committee_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "monthly",
                "quarterly",
                name="reportkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("period_start", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ready",
                "failed",
                name="reportstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("generated_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=120), nullable=False),
        sa.Column("generation_s", sa.Float(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("pdf_bytes", sa.Integer(), nullable=False),
        sa.Column("html_bytes", sa.Integer(), nullable=False),
        sa.Column("xlsx_bytes", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("html", sa.LargeBinary(), nullable=True),
        sa.Column("xlsx", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "pdf_bytes >= 0 AND html_bytes >= 0 AND xlsx_bytes >= 0",
            name=op.f("ck_committee_reports_sizes_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_reports")),
        sa.UniqueConstraint("kind", "period", name="uq_committee_reports_kind_period"),
    )
    with op.batch_alter_table("committee_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_reports_period_start"), ["period_start"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("committee_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committee_reports_period_start"))
    op.drop_table("committee_reports")
