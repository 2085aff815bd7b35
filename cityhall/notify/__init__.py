"""Notifications: alarm and ticket events to people over MQTT, signed webhooks and e-mail.

Call `NotificationService.run_once(now)` every cycle (see docs/notifications.md).
"""

from cityhall.notify.channels import (
    Channel,
    ChannelError,
    EmailChannel,
    MqttChannel,
    Outgoing,
    PermanentChannelError,
    WebhookChannel,
    sign,
    verify_signature,
)
from cityhall.notify.messages import Audience, EventKind, Notification
from cityhall.notify.routing import ROUTES, CrewDirectory, DatabaseCrewDirectory, Route
from cityhall.notify.service import CycleReport, NotificationService

__all__ = [
    "ROUTES",
    "Audience",
    "Channel",
    "ChannelError",
    "CrewDirectory",
    "CycleReport",
    "DatabaseCrewDirectory",
    "EmailChannel",
    "EventKind",
    "MqttChannel",
    "Notification",
    "NotificationService",
    "Outgoing",
    "PermanentChannelError",
    "Route",
    "WebhookChannel",
    "sign",
    "verify_signature",
]
