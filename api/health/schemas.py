"""Health report schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthRead(BaseModel):
    """Overall status, one entry per check, and the running version."""

    status: Literal["ok", "degraded"]
    checks: dict[str, str]
    version: str
