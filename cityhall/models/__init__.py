"""Typed SQLAlchemy models; importing this package registers every table on Base.metadata."""

from cityhall.models.alarms import Alarm, AlarmEventOutbox, AlarmShelf, AlarmState, Severity
from cityhall.models.assets import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind
from cityhall.models.audit import AuditEntry
from cityhall.models.crews import Crew, MaintenanceSchedule, crew_buildings, crew_members
from cityhall.models.notifications import DeliveryStatus, NotificationLog
from cityhall.models.readings import DeadLetter, DeadLetterCategory, ReadingRow
from cityhall.models.rules import StoredRule
from cityhall.models.tickets import (
    Ticket,
    TicketNote,
    TicketPhoto,
    TicketPriority,
    TicketSource,
    TicketStatus,
    Trade,
)
from cityhall.models.users import ApiKey, Role, User

__all__ = [
    "Alarm",
    "AlarmEventOutbox",
    "AlarmShelf",
    "AlarmState",
    "ApiKey",
    "AuditEntry",
    "Building",
    "BuildingUse",
    "Crew",
    "DeadLetter",
    "DeadLetterCategory",
    "DeliveryStatus",
    "Device",
    "DeviceKind",
    "Floor",
    "MaintenanceSchedule",
    "NotificationLog",
    "ReadingRow",
    "Role",
    "Severity",
    "Site",
    "Space",
    "SpaceKind",
    "StoredRule",
    "Ticket",
    "TicketNote",
    "TicketPhoto",
    "TicketPriority",
    "TicketSource",
    "TicketStatus",
    "Trade",
    "User",
    "crew_buildings",
    "crew_members",
]
