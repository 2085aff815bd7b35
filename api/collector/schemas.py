"""Dead-letter schemas."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from cityhall.models import DeadLetter


class DeadLetterRead(BaseModel):
    """A message the collector refused, with its payload as text (invalid UTF-8 shown as U+FFFD)."""

    id: int
    received_at: AwareDatetime
    topic: str
    device: str | None
    reason: str
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
            payload_text=row.payload.decode("utf-8", errors="replace"),
            payload_bytes=len(row.payload),
        )
