"""Generated energy-conservation committee reports: one row per kind and period, its three files inside.

The files (PDF, HTML, XLSX) are stored in the row, not on disk: together they are a few hundred kB a month;
the API and the housekeeping process that writes them may run on different hosts with no shared disk; and a
row is written or not in one transaction (no orphan files, no row without its file; backed up with the
database).
The file columns are deferred, so listing reports never loads them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.types import str_enum


class ReportKind(StrEnum):
    """How long a committee report's period is."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class ReportStatus(StrEnum):
    """A stored report is ready, or its generation failed (the error says why; the schedule retries)."""

    READY = "ready"
    FAILED = "failed"


class StoredReport(Base):
    """A committee report for one period: its files and who generated it when."""

    __tablename__ = "committee_reports"
    __table_args__ = (
        # The schedule's guard: two processes generating the same report cannot both store it.
        UniqueConstraint("kind", "period", name="uq_committee_reports_kind_period"),
        CheckConstraint("pdf_bytes >= 0 AND html_bytes >= 0 AND xlsx_bytes >= 0", name="sizes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind))
    period: Mapped[str] = mapped_column(String(7))  # 2026-10 or 2026Q3
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus))
    error: Mapped[str] = mapped_column(Text, default="")
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(120))  # audit actor: user:eric, system:schedule, cli
    generation_s: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # key figures, for the list
    pdf_bytes: Mapped[int] = mapped_column(Integer, default=0)
    html_bytes: Mapped[int] = mapped_column(Integer, default=0)
    xlsx_bytes: Mapped[int] = mapped_column(Integer, default=0)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    html: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # UTF-8
    xlsx: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
