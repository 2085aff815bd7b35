"""alarm lifecycle, crews, work orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:38:46.491866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityhall.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "crews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("trades", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crews")),
        sa.UniqueConstraint("name", name=op.f("uq_crews_name")),
    )
    op.create_table(
        "crew_members",
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crew_id"], ["crews.id"], name=op.f("fk_crew_members_crew_id_crews"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_crew_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("crew_id", "user_id", name=op.f("pk_crew_members")),
    )
    op.create_table(
        "crew_buildings",
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_crew_buildings_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["crew_id"], ["crews.id"], name=op.f("fk_crew_buildings_crew_id_crews"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("crew_id", "building_id", name=op.f("pk_crew_buildings")),
    )
    op.create_table(
        "maintenance_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("dtstart", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column(
            "trade",
            sa.Enum(
                "electrical",
                "plumbing",
                "hvac",
                "general",
                name="trade",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="ticketpriority",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("next_due_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_maintenance_schedules_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_maintenance_schedules_space_id_spaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_schedules")),
    )
    with op.batch_alter_table("maintenance_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_schedules_next_due_at"), ["next_due_at"], unique=False
        )

    op.create_table(
        "alarm_event_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("transition", sa.String(length=32), nullable=False),
        sa.Column("at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("device_code", sa.String(length=64), nullable=False),
        sa.Column("building_code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("published_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarms.id"],
            name=op.f("fk_alarm_event_outbox_alarm_id_alarms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_event_outbox")),
    )
    with op.batch_alter_table("alarm_event_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_alarm_event_outbox_pending", ["published_at", "id"], unique=False)

    op.create_table(
        "alarm_shelves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("until", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", cityhall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_shelves_alarm_id_alarms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_alarm_shelves_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_shelves")),
    )
    with op.batch_alter_table("alarm_shelves", schema=None) as batch_op:
        batch_op.create_index("ix_alarm_shelves_pair", ["rule_key", "device_id", "until"], unique=False)

    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("time_spent_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_notes_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", cityhall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_photos_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_photos")),
    )
    with op.batch_alter_table("ticket_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_photos_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", cityhall.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("escalated_at", cityhall.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", cityhall.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("needs_confirmation", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "trade",
                sa.Enum(
                    "electrical",
                    "plumbing",
                    "hvac",
                    "general",
                    name="trade",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="general",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("crew_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scheduled_for", cityhall.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_crew_id"), ["crew_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_due_at"), ["due_at"], unique=False)
        batch_op.create_unique_constraint("uq_tickets_schedule_occurrence", ["schedule_id", "scheduled_for"])
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_schedule_id_maintenance_schedules"),
            "maintenance_schedules",
            ["schedule_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_crew_id_crews"), "crews", ["crew_id"], ["id"], ondelete="SET NULL"
        )
        # Preventive-maintenance tickets have source 'schedule'; autogenerate does not see CHECK changes.
        batch_op.drop_constraint(batch_op.f("ck_tickets_ticketsource"), type_="check")
        batch_op.create_check_constraint("ticketsource", "source IN ('rule', 'request', 'schedule')")


def downgrade() -> None:
    """Revert this revision."""
    op.execute("DELETE FROM tickets WHERE source = 'schedule'")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tickets_ticketsource"), type_="check")
        batch_op.create_check_constraint("ticketsource", "source IN ('rule', 'request')")
        batch_op.drop_constraint(batch_op.f("fk_tickets_crew_id_crews"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_schedule_id_maintenance_schedules"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_tickets_schedule_occurrence", type_="unique")
        batch_op.drop_index(batch_op.f("ix_tickets_due_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_crew_id"))
        batch_op.drop_column("scheduled_for")
        batch_op.drop_column("schedule_id")
        batch_op.drop_column("crew_id")
        batch_op.drop_column("trade")
        batch_op.drop_column("needs_confirmation")
        batch_op.drop_column("due_at")

    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")

    with op.batch_alter_table("ticket_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_photos_ticket_id"))

    op.drop_table("ticket_photos")
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_id"))

    op.drop_table("ticket_notes")
    with op.batch_alter_table("alarm_shelves", schema=None) as batch_op:
        batch_op.drop_index("ix_alarm_shelves_pair")

    op.drop_table("alarm_shelves")
    with op.batch_alter_table("alarm_event_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_alarm_event_outbox_pending")

    op.drop_table("alarm_event_outbox")
    with op.batch_alter_table("maintenance_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_schedules_next_due_at"))

    op.drop_table("maintenance_schedules")
    op.drop_table("crew_buildings")
    op.drop_table("crew_members")
    op.drop_table("crews")
