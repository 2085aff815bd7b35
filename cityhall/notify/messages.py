"""What a notification says: the value object, its audience, and its text and JSON renderings."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cityhall.models.users import Role

PEOPLE_ZONE = ZoneInfo("Asia/Taipei")


class EventKind(StrEnum):
    """Why a notification is sent."""

    ALARM_RAISED = "alarm_raised"
    ALARM_REPEAT = "alarm_repeat"
    ALARM_ESCALATED = "alarm_escalated"
    TICKET_ASSIGNED = "ticket_assigned"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who should hear about it: whole roles, crews (by name) and single users (by id)."""

    roles: tuple[Role, ...] = ()
    crews: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()

    def as_json(self) -> dict[str, list[str] | list[int]]:
        """The audience as JSON-able data."""
        return {
            "roles": [r.value for r in self.roles],
            "crews": list(self.crews),
            "users": list(self.user_ids),
        }


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell an audience; `key` deduplicates it (the same key is never planned twice)."""

    key: str
    kind: EventKind
    subject: str
    body: str
    severity: str | None
    occurred_at: datetime
    audience: Audience
    alarm_id: int | None = None
    ticket_id: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON document sent over MQTT and webhooks (times in UTC)."""
        links: dict[str, str] = {}
        if self.alarm_id is not None:
            links["alarm"] = f"/alarms/{self.alarm_id}"
        if self.ticket_id is not None:
            links["ticket"] = f"/tickets/{self.ticket_id}"
        return {
            "key": self.key,
            "kind": self.kind.value,
            "subject": self.subject,
            "body": self.body,
            "severity": self.severity,
            "occurred_at": utc_text(self.occurred_at),
            "alarm_id": self.alarm_id,
            "ticket_id": self.ticket_id,
            "links": links,
            "audience": self.audience.as_json(),
            "facts": self.facts,
        }


def utc_text(at: datetime) -> str:
    """ISO 8601 in UTC with a Z, as on every wire."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_text(at: datetime) -> str:
    """A time as people in Tainan read it, e.g. `2025-03-04 09:30 (UTC+8)`."""
    return at.astimezone(PEOPLE_ZONE).strftime("%Y-%m-%d %H:%M (UTC+8)")


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One held notification as a line of a digest."""

    key: str
    subject: str
    severity: str | None
    occurred_at: datetime
    alarm_id: int | None
    ticket_id: int | None


def digest(
    *, channel: str, recipient: str, window_start: datetime, window_end: datetime, lines: Sequence[DigestLine]
) -> Notification:
    """ONE notification that lists everything the rate limit held back in a window."""
    count = len(lines)
    subject = (
        f"[CityHall Ops] {count} more notification{'s' if count != 1 else ''} "
        f"{local_text(window_start)[:-9]}-{local_text(window_end)[11:]}"
    )
    body_lines = [
        f"{count} notification(s) arrived faster than the rate limit allows between "
        f"{local_text(window_start)} and {local_text(window_end)}:",
        "",
    ]
    body_lines += [
        f"- {local_text(line.occurred_at)[11:16]} [{line.severity or '-'}] {line.subject}" for line in lines
    ]
    return Notification(
        key=f"digest:{channel}:{recipient}:{utc_text(window_start)}",
        kind=EventKind.DIGEST,
        subject=subject,
        body="\n".join(body_lines),
        severity=_highest([line.severity for line in lines]),
        occurred_at=window_end,
        audience=Audience(),
        facts={
            "window_start": utc_text(window_start),
            "window_end": utc_text(window_end),
            "count": count,
            "items": [
                {
                    "key": line.key,
                    "subject": line.subject,
                    "severity": line.severity,
                    "occurred_at": utc_text(line.occurred_at),
                    "alarm_id": line.alarm_id,
                    "ticket_id": line.ticket_id,
                }
                for line in lines
            ],
        },
    )


_SEVERITY_ORDER = ("low", "medium", "high", "critical")


def _highest(severities: Sequence[str | None]) -> str | None:
    known = [s for s in severities if s in _SEVERITY_ORDER]
    return max(known, key=_SEVERITY_ORDER.index) if known else None


def html_body(subject: str, body: str) -> str:
    """A simple HTML alternative of a plain-text body (escaped, line breaks kept)."""
    paragraphs = "".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n") if part
    )
    return f"<html><body><h3>{html.escape(subject)}</h3>{paragraphs}</body></html>"
