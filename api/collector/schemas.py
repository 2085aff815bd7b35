"""Dead-letter schemas."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import Row

from cityhall.models import DeadLetter, DeadLetterCategory


class QuarantinedDeviceRead(BaseModel):
    """A device code heard on the wire but not in the asset register, with its kept messages."""

    device: str
    messages: int
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    registered: bool  # True once the code is registered: the collector is about to replay the messages

    @classmethod
    def from_row(cls, row: Row[str | None, int, datetime, datetime, str | None]) -> QuarantinedDeviceRead:
        """Build from the grouped query's row."""
        device, messages, first_seen, last_seen, registered_code = row
        return cls(
            device=device or "",
            messages=messages,
            first_seen=_aware(first_seen),
            last_seen=_aware(last_seen),
            registered=registered_code is not None,
        )


def _aware(value: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back naive UTC values.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class DeadLetterRead(BaseModel):
    """A message the collector refused, with its payload as text (invalid UTF-8 shown as U+FFFD)."""

    id: int
    received_at: AwareDatetime
    topic: str
    device: str | None
    reason: str
    category: DeadLetterCategory
    replayed_at: AwareDatetime | None
    payload_text: str
    payload_bytes: int

    @classmethod
    def from_row(cls, row: DeadLetter) -> DeadLetterRead:
        """Decode the stored payload for display."""
        return cls(
            id=row.id,
            received_at=row.received_at,
            topic=row.topic,
            device=row.device,
            reason=row.reason,
            category=row.category,
            replayed_at=row.replayed_at,
            payload_text=row.payload.decode("utf-8", errors="replace"),
            payload_bytes=len(row.payload),
        )
