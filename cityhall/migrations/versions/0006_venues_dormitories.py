"""venues and dormitories: bookable resources, bookings without overlap, dorm upkeep

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:34:04.841422
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "venue_applicants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("feed_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_applicants")),
        sa.UniqueConstraint("feed_key_sha256", name=op.f("uq_venue_applicants_feed_key_sha256")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_venue_applicants_key_sha256")),
    )
    with op.batch_alter_table("venue_applicants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_applicants_email"), ["email"], unique=False)

    op.create_table(
        "venue_feed_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_venue_feed_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_feed_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_venue_feed_keys_key_sha256")),
        sa.UniqueConstraint("user_id", name=op.f("uq_venue_feed_keys_user_id")),
    )
    op.create_table(
        "venue_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "hall",
                "meeting_room",
                "venue",
                "dorm_room",
                name="resourcekind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "audience",
            sa.Enum(
                "public", "internal", name="audience", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("capacity_people", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.JSON(), nullable=False),
        sa.Column("fee_per_hour_twd", sa.Integer(), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=True),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("max_duration_minutes", sa.Integer(), nullable=True),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("closed_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("check_in_required", sa.Boolean(), nullable=False),
        sa.Column("check_in_grace_minutes", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("buffer_minutes >= 0", name=op.f("ck_venue_resources_buffer_not_negative")),
        sa.CheckConstraint("capacity_people > 0", name=op.f("ck_venue_resources_capacity_positive")),
        sa.CheckConstraint("fee_per_hour_twd >= 0", name=op.f("ck_venue_resources_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_venue_resources_site_id_sites"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_venue_resources_space_id_spaces"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_resources")),
        sa.UniqueConstraint("code", name=op.f("uq_venue_resources_code")),
    )
    with op.batch_alter_table("venue_resources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_resources_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_resources_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_resources_space_id"), ["space_id"], unique=False)

    op.create_table(
        "dorm_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on > starts_on", name=op.f("ck_dorm_assignments_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_dorm_assignments_resource_id_venue_resources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_dorm_assignments_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dorm_assignments")),
    )
    with op.batch_alter_table("dorm_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dorm_assignments_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dorm_assignments_user_id"), ["user_id"], unique=False)

    op.create_table(
        "dorm_housekeeping_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("dtstart", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_due_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_dorm_housekeeping_plans_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dorm_housekeeping_plans")),
    )
    with op.batch_alter_table("dorm_housekeeping_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dorm_housekeeping_plans_next_due_at"), ["next_due_at"], unique=False
        )

    op.create_table(
        "venue_blackouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_venue_blackouts_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_venue_blackouts_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_blackouts")),
    )
    with op.batch_alter_table("venue_blackouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_blackouts_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "venue_booking_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("dtstart", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("exdates", sa.JSON(), nullable=False),
        sa.Column("free_dates_only", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_venue_booking_series_resource_id_venue_resources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_booking_series")),
    )
    with op.batch_alter_table("venue_booking_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_venue_booking_series_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "venue_quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column(
            "scope",
            sa.Enum(
                "person",
                "department",
                name="quotascope",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "period",
            sa.Enum(
                "day",
                "week",
                "month",
                "year",
                name="quotaperiod",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("max_hours", sa.Float(), nullable=True),
        sa.Column("max_bookings", sa.Integer(), nullable=True),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "max_hours IS NOT NULL OR max_bookings IS NOT NULL", name=op.f("ck_venue_quotas_has_limit")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_venue_quotas_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_quotas")),
    )
    with op.batch_alter_table("venue_quotas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_quotas_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "dorm_housekeeping_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "dirty",
                "cleaning",
                "clean",
                "inspected",
                name="cleaningstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(length=120), nullable=True),
        sa.Column("cleaned_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["dorm_housekeeping_plans.id"],
            name=op.f("fk_dorm_housekeeping_tasks_plan_id_dorm_housekeeping_plans"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_dorm_housekeeping_tasks_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dorm_housekeeping_tasks")),
        sa.UniqueConstraint(
            "plan_id", "resource_id", "scheduled_for", name="uq_dorm_housekeeping_tasks_occurrence"
        ),
    )
    with op.batch_alter_table("dorm_housekeeping_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dorm_housekeeping_tasks_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dorm_housekeeping_tasks_scheduled_for"), ["scheduled_for"], unique=False
        )

    op.create_table(
        "venue_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("recurrence_id", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "checked_in",
                "cancelled",
                "rejected",
                "no_show",
                name="bookingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("block_until", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fee_twd", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("checked_in_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attendees > 0", name=op.f("ck_venue_bookings_attendees_positive")),
        sa.CheckConstraint("block_until >= ends_at", name=op.f("ck_venue_bookings_block_covers_booking")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_venue_bookings_ends_after_start")),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR applicant_id IS NOT NULL", name=op.f("ck_venue_bookings_has_booker")
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["venue_applicants.id"],
            name=op.f("fk_venue_bookings_applicant_id_venue_applicants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_venue_bookings_resource_id_venue_resources"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["venue_booking_series.id"],
            name=op.f("fk_venue_bookings_series_id_venue_booking_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_venue_bookings_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_bookings")),
    )
    with op.batch_alter_table("venue_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_bookings_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index("ix_venue_bookings_resource_time", ["resource_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_bookings_series_id"), ["series_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_bookings_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_bookings_user_id"), ["user_id"], unique=False)
    _forbid_overlapping_bookings(dialect)

    op.create_table(
        "dorm_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("inspector", sa.String(length=120), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("inspected_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_dorm_inspections_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["dorm_housekeeping_tasks.id"],
            name=op.f("fk_dorm_inspections_task_id_dorm_housekeeping_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dorm_inspections")),
    )
    with op.batch_alter_table("dorm_inspections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dorm_inspections_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "dorm_repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["venue_resources.id"],
            name=op.f("fk_dorm_repairs_resource_id_venue_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_dorm_repairs_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dorm_repairs")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_dorm_repairs_ticket_id")),
    )
    with op.batch_alter_table("dorm_repairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dorm_repairs_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "venue_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_venue_surveys_score_range")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["venue_bookings.id"],
            name=op.f("fk_venue_surveys_booking_id_venue_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_surveys")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_venue_surveys_booking_id")),
    )


_OVERLAP_CHECK = """
FOR EACH ROW WHEN NEW.status IN ('pending', 'confirmed', 'checked_in')
BEGIN
    SELECT RAISE(ABORT, 'ex_venue_bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM venue_bookings AS other
        WHERE other.resource_id = NEW.resource_id
          AND other.id IS NOT NEW.id
          AND other.status IN ('pending', 'confirmed', 'checked_in')
          AND other.starts_at < NEW.block_until
          AND NEW.starts_at < other.block_until
    );
END"""


def _forbid_overlapping_bookings(dialect: str) -> None:
    """Two active bookings of one resource never overlap, buffer included (cityhall/models/venues.py)."""
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE venue_bookings ADD CONSTRAINT ex_venue_bookings_no_overlap EXCLUDE USING gist "
            "(resource_id WITH =, tstzrange(starts_at, block_until) WITH &&) "
            "WHERE (status IN ('pending', 'confirmed', 'checked_in'))"
        )
        return
    # SQLite has one writer at a time, so a trigger's check cannot race.
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS trg_venue_bookings_no_overlap_insert BEFORE INSERT ON venue_bookings"
        + _OVERLAP_CHECK
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS trg_venue_bookings_no_overlap_update"
        " BEFORE UPDATE OF resource_id, starts_at, block_until, status ON venue_bookings" + _OVERLAP_CHECK
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("venue_surveys")
    with op.batch_alter_table("dorm_repairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dorm_repairs_resource_id"))

    op.drop_table("dorm_repairs")
    with op.batch_alter_table("dorm_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dorm_inspections_resource_id"))

    op.drop_table("dorm_inspections")
    with op.batch_alter_table("venue_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_bookings_user_id"))
        batch_op.drop_index(batch_op.f("ix_venue_bookings_status"))
        batch_op.drop_index(batch_op.f("ix_venue_bookings_series_id"))
        batch_op.drop_index("ix_venue_bookings_resource_time")
        batch_op.drop_index(batch_op.f("ix_venue_bookings_applicant_id"))

    op.drop_table("venue_bookings")
    with op.batch_alter_table("dorm_housekeeping_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dorm_housekeeping_tasks_scheduled_for"))
        batch_op.drop_index(batch_op.f("ix_dorm_housekeeping_tasks_resource_id"))

    op.drop_table("dorm_housekeeping_tasks")
    with op.batch_alter_table("venue_quotas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_quotas_resource_id"))

    op.drop_table("venue_quotas")
    with op.batch_alter_table("venue_booking_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_booking_series_resource_id"))

    op.drop_table("venue_booking_series")
    with op.batch_alter_table("venue_blackouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_blackouts_resource_id"))

    op.drop_table("venue_blackouts")
    with op.batch_alter_table("dorm_housekeeping_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dorm_housekeeping_plans_next_due_at"))

    op.drop_table("dorm_housekeeping_plans")
    with op.batch_alter_table("dorm_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dorm_assignments_user_id"))
        batch_op.drop_index(batch_op.f("ix_dorm_assignments_resource_id"))

    op.drop_table("dorm_assignments")
    with op.batch_alter_table("venue_resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_resources_space_id"))
        batch_op.drop_index(batch_op.f("ix_venue_resources_site_id"))
        batch_op.drop_index(batch_op.f("ix_venue_resources_kind"))

    op.drop_table("venue_resources")
    op.drop_table("venue_feed_keys")
    with op.batch_alter_table("venue_applicants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_applicants_email"))

    op.drop_table("venue_applicants")
