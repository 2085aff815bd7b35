"""Report request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cityhall.models import ReportKind, ReportStatus


class ReportCreate(BaseModel):
    """Generate (and store) the committee report of one month or quarter."""

    model_config = ConfigDict(extra="forbid")

    kind: ReportKind = Field(examples=["monthly"])
    period: str = Field(
        pattern=r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])$",
        examples=["2026-10", "2026Q3"],
        description="YYYY-MM for a monthly report, YYYYQn for a quarterly one (Asia/Taipei)",
    )
    replace: bool = Field(False, description="Replace a report already stored for this period")


class ReportFiles(BaseModel):
    """Where to download each file, and its size."""

    pdf: str
    html: str
    xlsx: str
    pdf_bytes: int
    html_bytes: int
    xlsx_bytes: int


class ReportRead(BaseModel):
    """A stored report: its period, who generated it when, its key figures and its files."""

    id: int
    kind: ReportKind
    period: str
    period_start: datetime
    period_end: datetime
    status: ReportStatus
    error: str
    generated_at: datetime
    generated_by: str
    generation_s: float
    summary: dict[str, Any] = Field(description="Key figures per area (with units), savings, open items")
    files: ReportFiles
