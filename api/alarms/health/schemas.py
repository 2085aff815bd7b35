"""Alarm-health schemas: every figure carries its unit and the benchmark it is compared with; durations are
in the unit their name ends with (`_s`, `_h`), shares in percent (`_pct`), counts in alarms."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.alarm_health import Verdict
from cityhall.models import Severity

_FROM = ConfigDict(from_attributes=True)


class BenchmarkRead(BaseModel):
    """What a standard recommends: two levels (`acceptable`, `manageable`) or one `target` to stay under."""

    model_config = _FROM

    source: str = Field(description="The standard the benchmark comes from")
    text_zh: str
    text_en: str
    acceptable: float | None = Field(description="At or below: very likely acceptable")
    manageable: float | None = Field(description="At or below: the most that is manageable")
    target: float | None = Field(description="Stay at or below it (under it when `inclusive` is false)")
    inclusive: bool


class FigureRead(BaseModel):
    """One figure of the report, in `unit`, judged against `benchmark`."""

    model_config = _FROM

    key: str
    label_zh: str
    label_en: str
    value: float | None = Field(description="None when nothing was measured (a period not begun yet)")
    unit: str
    benchmark: BenchmarkRead | None
    verdict: Verdict | None = Field(
        description="acceptable, manageable or overloaded (two levels); meets or misses (a target)"
    )


class DayCountRead(BaseModel):
    """Alarms on one Asia/Taipei day."""

    model_config = _FROM

    day: date
    alarms: int


class PriorityRead(BaseModel):
    """The alarms of one severity against the recommended share (ISA-18.2, EEMUA 191)."""

    model_config = _FROM

    severity: Severity
    alarms: int
    share_pct: float | None
    recommended_pct: float
    difference_pct: float | None = Field(description="share minus recommended, in percentage points")


class ActionRead(BaseModel):
    """An API call that acts on a bad actor; `body` shows the fields to send (None: fill in)."""

    method: str
    href: str
    body: dict[str, Any] | None = None
    what_zh: str
    what_en: str


class BadActorRead(BaseModel):
    """A (rule, device) pair ranked by its alarms, with what it would take to act on it."""

    model_config = _FROM

    rank: int
    rule_key: str
    rule_name: str
    device_id: int
    device_code: str
    building_code: str
    site_code: str
    alarms: int
    share_pct: float
    cumulative_pct: float
    chattering_alarms: int
    fleeting_alarms: int
    shelved_until: AwareDatetime | None = Field(
        default=None, description="The end of the shelf in force for the pair now, if any"
    )
    actions: list[ActionRead] = Field(default_factory=list)


class ScopeRead(BaseModel):
    """The health of every site together (`site` null) or of one site."""

    site: str | None
    site_name: str | None
    figures: list[FigureRead]
    per_day: list[DayCountRead]
    priorities: list[PriorityRead]
    top_bad_actors: list[BadActorRead]


class PeriodRead(BaseModel):
    """The period assessed, [since, until), and how much of it has happened."""

    since: AwareDatetime
    until: AwareDatetime
    measured_until: AwareDatetime = Field(description="`until`, or now while the period is under way")
    week: str | None = Field(description="The ISO week, e.g. 2026-W49, when the period is one")
    timezone: str = "Asia/Taipei"
    days: float = Field(description="Days measured (averages are per day of them)")


class LimitsRead(BaseModel):
    """The parameters of the definitions."""

    flood_above_per_10min: int
    chatter_count: int
    chatter_window_s: float
    fleeting_under_s: float
    stale_after_h: float
    top: int


class ListLinkRead(BaseModel):
    """A list of the report: how many items, and where to page through them."""

    total: int
    href: str


class HealthRead(BaseModel):
    """The alarm system's health over a period: the scope asked for, each site's, and the lists."""

    period: PeriodRead
    limits: LimitsRead
    scope: ScopeRead
    sites: list[ScopeRead] = Field(description="Each site, when the scope is every site")
    priority_benchmark: BenchmarkRead = Field(description="What the priority distribution is compared with")
    lists: dict[str, ListLinkRead]


class IntervalRead(BaseModel):
    """A 10-minute interval with alarms."""

    model_config = _FROM

    start: AwareDatetime
    alarms: int
    flood: bool = False


class ContributorRead(BaseModel):
    """A (rule, device) pair's alarms in a flood."""

    model_config = _FROM

    rule_key: str
    device_code: str
    alarms: int


class FloodRead(BaseModel):
    """A flood episode: consecutive 10-minute intervals with more alarms than the flood level."""

    model_config = _FROM

    start: AwareDatetime
    end: AwareDatetime
    intervals: int
    alarms: int
    peak_per_10min: int
    top_contributors: list[ContributorRead]


class ChatteringRead(BaseModel):
    """A pair that raised `chatter_count` or more alarms within the window."""

    model_config = _FROM

    rule_key: str
    rule_name: str
    device_id: int
    device_code: str
    site_code: str
    alarms: int
    chattering_alarms: int
    max_in_window: int
    first_burst_at: AwareDatetime


class FleetingRead(BaseModel):
    """An alarm that cleared sooner than the fleeting limit before anyone acknowledged it."""

    model_config = _FROM

    alarm_id: int
    rule_key: str
    device_code: str
    site_code: str
    raised_at: AwareDatetime
    cleared_at: AwareDatetime
    active_s: float


class StaleRead(BaseModel):
    """An alarm active longer than the stale limit at some time in the period."""

    model_config = _FROM

    alarm_id: int
    rule_key: str
    rule_name: str
    device_code: str
    site_code: str
    raised_at: AwareDatetime
    cleared_at: AwareDatetime | None
    active_h: float


class ShelvedRead(BaseModel):
    """A shelf in force in the period, and for how many hours of it."""

    model_config = _FROM

    shelf_id: int
    rule_key: str
    device_id: int
    device_code: str
    site_code: str
    alarm_id: int | None
    shelved_from: AwareDatetime
    shelved_to: AwareDatetime
    ended_early: bool
    created_by: str
    reason: str
    hours_in_period: float
    hours_total: float
