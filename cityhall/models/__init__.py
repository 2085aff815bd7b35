"""Typed SQLAlchemy models; importing this package registers every table on Base.metadata."""

from cityhall.models.alarms import Alarm, AlarmState, Severity
from cityhall.models.assets import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind
from cityhall.models.audit import AuditEntry
from cityhall.models.readings import DeadLetter, DeadLetterCategory, ReadingRow
from cityhall.models.tickets import Ticket, TicketPriority, TicketSource, TicketStatus
from cityhall.models.users import ApiKey, Role, User

__all__ = [
    "Alarm",
    "AlarmState",
    "ApiKey",
    "AuditEntry",
    "Building",
    "BuildingUse",
    "DeadLetter",
    "DeadLetterCategory",
    "Device",
    "DeviceKind",
    "Floor",
    "ReadingRow",
    "Role",
    "Severity",
    "Site",
    "Space",
    "SpaceKind",
    "Ticket",
    "TicketPriority",
    "TicketSource",
    "TicketStatus",
    "User",
]
