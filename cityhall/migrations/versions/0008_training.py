"""training: courses, sessions, enrolment, attendance, the hours ledger, xAPI, certificates, drills

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "training_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "safety",
                "disaster_prevention",
                "procurement_basic",
                "procurement_advanced",
                "records_management",
                "site_visit",
                "general",
                name="coursecategory",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "delivery",
            sa.Enum(
                "on_site",
                "digital",
                "blended",
                name="delivery",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("digital_share_pct", sa.Integer(), nullable=False),
        sa.Column("issues_certificate", sa.Boolean(), nullable=False),
        sa.Column("certificate_valid_months", sa.Integer(), nullable=True),
        sa.Column("xapi_activity_id", sa.String(length=500), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "certificate_valid_months IS NULL OR certificate_valid_months > 0",
            name=op.f("ck_training_courses_validity"),
        ),
        sa.CheckConstraint(
            "digital_share_pct BETWEEN 0 AND 100", name=op.f("ck_training_courses_digital_share_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_training_courses_code")),
        sa.UniqueConstraint("xapi_activity_id", name=op.f("uq_training_courses_xapi_activity_id")),
    )
    op.create_table(
        "training_credits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=120), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "on_the_job", "digital", name="hourkind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("credited_on", sa.Date(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_s >= 0", name=op.f("ck_training_credits_duration_not_negative")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_courses.id"],
            name=op.f("fk_training_credits_course_id_training_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_training_credits_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_credits")),
        sa.UniqueConstraint("source_key", name=op.f("uq_training_credits_source_key")),
    )
    with op.batch_alter_table("training_credits", schema=None) as batch_op:
        batch_op.create_index("ix_training_credits_user_day", ["user_id", "credited_on"], unique=False)

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("instructor", sa.String(length=200), nullable=False),
        sa.Column("credit_s", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "cancelled",
                name="sessionstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_training_sessions_capacity_positive")),
        sa.CheckConstraint("credit_s > 0", name=op.f("ck_training_sessions_credit_positive")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_training_sessions_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_courses.id"],
            name=op.f("fk_training_sessions_course_id_training_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_sessions_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_sessions_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "training_staff",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column(
            "duty",
            sa.Enum(
                "member",
                "department_manager",
                "training_officer",
                name="trainingduty",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_training_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_training_staff")),
    )
    with op.batch_alter_table("training_staff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_staff_department_code"), ["department_code"], unique=False
        )

    op.create_table(
        "training_xapi_statements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("verb_id", sa.String(length=500), nullable=False),
        sa.Column("activity_id", sa.String(length=500), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("credited_s", sa.Integer(), nullable=False),
        sa.Column("occurred_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_from", sa.String(length=120), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_xapi_statements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_xapi_statements")),
    )
    with op.batch_alter_table("training_xapi_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_xapi_statements_user_id"), ["user_id"], unique=False)

    op.create_table(
        "training_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("attended_s", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attended_s > 0", name=op.f("ck_training_attendance_attended_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_training_attendance_session_id_training_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_training_attendance_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendance")),
        sa.UniqueConstraint("session_id", "user_id", name="uq_training_attendance_session_user"),
    )
    with op.batch_alter_table("training_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_attendance_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_attendance_user_id"), ["user_id"], unique=False)

    op.create_table(
        "training_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "safety",
                "disaster_prevention",
                "procurement_basic",
                "procurement_advanced",
                "records_management",
                "site_visit",
                "general",
                name="coursecategory",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_courses.id"],
            name=op.f("fk_training_certificates_course_id_training_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_training_certificates_session_id_training_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_training_certificates_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_training_certificates_number")),
        sa.UniqueConstraint("user_id", "session_id", name="uq_training_certificates_user_session"),
    )
    with op.batch_alter_table("training_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_certificates_expires_on"), ["expires_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_certificates_user_id"), ["user_id"], unique=False)

    op.create_table(
        "training_drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("held_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("evacuation_s", sa.Integer(), nullable=True),
        sa.Column("target_evacuation_s", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "evacuation_s IS NULL OR evacuation_s > 0", name=op.f("ck_training_drills_evacuation_positive")
        ),
        sa.CheckConstraint("participants >= 0", name=op.f("ck_training_drills_participants_not_negative")),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_training_drills_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_drills")),
    )
    with op.batch_alter_table("training_drills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_drills_held_at"), ["held_at"], unique=False)

    op.create_table(
        "training_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "enrolled",
                "waitlisted",
                "cancelled",
                name="enrolmentstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_training_enrolments_session_id_training_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_training_enrolments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_enrolments")),
        sa.UniqueConstraint("session_id", "user_id", name="uq_training_enrolments_session_user"),
    )
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_enrolments_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_enrolments_user_id"), ["user_id"], unique=False)

    op.create_table(
        "training_certificate_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("sent_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["training_certificates.id"],
            name=op.f("fk_training_certificate_reminders_certificate_id_training_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_certificate_reminders")),
        sa.UniqueConstraint(
            "certificate_id", "expires_on", "lead_days", name="uq_training_certificate_reminders_once"
        ),
    )
    op.create_table(
        "training_drill_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drill_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "done", name="actionstatus", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("done_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drill_id"],
            ["training_drills.id"],
            name=op.f("fk_training_drill_actions_drill_id_training_drills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_training_drill_actions_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_drill_actions")),
    )
    with op.batch_alter_table("training_drill_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_drill_actions_drill_id"), ["drill_id"], unique=False)


def downgrade() -> None:
    """Revert this revision (dropping a table drops its indexes)."""
    op.drop_table("training_drill_actions")
    op.drop_table("training_certificate_reminders")
    op.drop_table("training_enrolments")
    op.drop_table("training_drills")
    op.drop_table("training_certificates")
    op.drop_table("training_attendance")
    op.drop_table("training_xapi_statements")
    op.drop_table("training_staff")
    op.drop_table("training_sessions")
    op.drop_table("training_credits")
    op.drop_table("training_courses")
