"""conservation: four-area targets, monthly entries, committee meetings, action items, programmes, reviews

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-29 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "committee_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "held",
                "cancelled",
                name="meetingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_meetings")),
    )
    with op.batch_alter_table("committee_meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_meetings_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "conservation_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "electricity",
                "water",
                "fuel",
                "paper",
                name="conservationarea",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("entered_amount", sa.Float(), nullable=False),
        sa.Column("entered_unit", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=120), nullable=False),
        sa.Column("entered_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_conservation_entries_amount_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_entries")),
        sa.UniqueConstraint(
            "department_code",
            "area",
            "month",
            "source",
            name="uq_conservation_entries_department_area_month_source",
        ),
    )
    with op.batch_alter_table("conservation_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservation_entries_department_code"), ["department_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conservation_entries_month"), ["month"], unique=False)

    op.create_table(
        "conservation_programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "returned",
                name="programmestatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_programmes")),
        sa.UniqueConstraint(
            "department_code", "year", "title", name="uq_conservation_programmes_department_year_title"
        ),
    )
    with op.batch_alter_table("conservation_programmes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservation_programmes_department_code"), ["department_code"], unique=False
        )

    op.create_table(
        "conservation_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "electricity",
                "water",
                "fuel",
                "paper",
                name="conservationarea",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("target_amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("baseline_amount", sa.Float(), nullable=True),
        sa.Column("baseline_year", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "baseline_amount IS NULL OR baseline_amount >= 0",
            name=op.f("ck_conservation_targets_baseline_not_negative"),
        ),
        sa.CheckConstraint("target_amount >= 0", name=op.f("ck_conservation_targets_target_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_targets")),
        sa.UniqueConstraint(
            "department_code", "year", "area", name="uq_conservation_targets_department_year_area"
        ),
    )
    with op.batch_alter_table("conservation_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservation_targets_department_code"), ["department_code"], unique=False
        )

    op.create_table(
        "committee_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                name="committeeactionstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("done_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'done') = (done_at IS NOT NULL)", name=op.f("ck_committee_actions_done_has_time")
        ),
        sa.CheckConstraint(
            "owner_id IS NOT NULL OR owner_name <> ''", name=op.f("ck_committee_actions_has_owner")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["committee_meetings.id"],
            name=op.f("fk_committee_actions_meeting_id_committee_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_committee_actions_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_actions")),
    )
    with op.batch_alter_table("committee_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_actions_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_committee_actions_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "conservation_programme_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "electricity",
                "water",
                "fuel",
                "paper",
                name="conservationarea",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expected_saving", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "expected_saving >= 0", name=op.f("ck_conservation_programme_measures_saving_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["conservation_programmes.id"],
            name=op.f("fk_conservation_programme_measures_programme_id_conservation_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_programme_measures")),
    )
    with op.batch_alter_table("conservation_programme_measures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservation_programme_measures_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "conservation_programme_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(length=120), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "approve",
                "return",
                name="reviewdecision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reviewed_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "score BETWEEN 0 AND 100", name=op.f("ck_conservation_programme_reviews_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["committee_meetings.id"],
            name=op.f("fk_conservation_programme_reviews_meeting_id_committee_meetings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["conservation_programmes.id"],
            name=op.f("fk_conservation_programme_reviews_programme_id_conservation_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_conservation_programme_reviews_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_programme_reviews")),
    )
    with op.batch_alter_table("conservation_programme_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservation_programme_reviews_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "conservation_programme_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "electricity",
                "water",
                "fuel",
                "paper",
                name="conservationarea",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("baseline_amount", sa.Float(), nullable=False),
        sa.Column("baseline_year", sa.Integer(), nullable=False),
        sa.Column("target_amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "baseline_amount >= 0 AND target_amount >= 0",
            name=op.f("ck_conservation_programme_targets_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["conservation_programmes.id"],
            name=op.f("fk_conservation_programme_targets_programme_id_conservation_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservation_programme_targets")),
        sa.UniqueConstraint("programme_id", "area", name="uq_conservation_programme_targets_programme_area"),
    )


def downgrade() -> None:
    """Revert this revision (dropping a table drops its indexes)."""
    op.drop_table("conservation_programme_targets")
    op.drop_table("conservation_programme_reviews")
    op.drop_table("conservation_programme_measures")
    op.drop_table("committee_actions")
    op.drop_table("conservation_targets")
    op.drop_table("conservation_programmes")
    op.drop_table("conservation_entries")
    op.drop_table("committee_meetings")
