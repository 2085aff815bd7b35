"""Yearly learning targets and progress against them, as pure functions (no I/O).

Every staff member owes 40 hours of on-the-job training and 5 hours of digital learning a year (seed
IV.2(1)). Someone who joins (or leaves) during the year owes the share of the year they serve: the target
times days served over days in the year. "Behind" means below the straight line from nothing on the first
day of service to the target on the last; the forecast extends the hours so far at the same daily pace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from cityhall.models import HourKind

TARGETS_S: dict[HourKind, int] = {HourKind.ON_THE_JOB: 40 * 3600, HourKind.DIGITAL: 5 * 3600}


@dataclass(frozen=True, slots=True)
class ServicePeriod:
    """The days of a year a person serves, first and last included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        """Days served in the year."""
        return (self.last - self.first).days + 1

    def elapsed_days(self, as_of: date) -> int:
        """Days of service up to and including `as_of` (0 before the first, all after the last)."""
        if as_of < self.first:
            return 0
        return (min(as_of, self.last) - self.first).days + 1


def service_period(year: int, joined_on: date, left_on: date | None = None) -> ServicePeriod | None:
    """The part of `year` a person serves, or None when they serve none of it."""
    first = max(date(year, 1, 1), joined_on)
    last = min(date(year, 12, 31), left_on) if left_on is not None else date(year, 12, 31)
    return ServicePeriod(first, last) if first <= last else None


def days_in_year(year: int) -> int:
    """365 or 366."""
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def prorated_target_s(target_s: int, year: int, period: ServicePeriod | None) -> int:
    """The target for the days served (whole seconds, rounded half up)."""
    if period is None:
        return 0
    return (target_s * period.days * 2 + days_in_year(year)) // (2 * days_in_year(year))


@dataclass(frozen=True, slots=True)
class KindProgress:
    """Progress on one kind of hours: done, owed this year, expected by now, forecast at this pace."""

    kind: HourKind
    done_s: int
    target_s: int
    expected_s: int
    forecast_s: int

    @property
    def met(self) -> bool:
        """The year's target is reached."""
        return self.done_s >= self.target_s

    @property
    def behind(self) -> bool:
        """Below the straight line to the target."""
        return self.done_s < self.expected_s

    @property
    def forecast_short_s(self) -> int:
        """How far the forecast falls short of the target (0 when it reaches it)."""
        return max(0, self.target_s - self.forecast_s)


def kind_progress(
    kind: HourKind, done_s: int, *, year: int, period: ServicePeriod | None, as_of: date
) -> KindProgress:
    """Progress on one kind of hours for a person serving `period` of `year`, seen on `as_of`."""
    target_s = prorated_target_s(TARGETS_S[kind], year, period)
    if period is None:
        return KindProgress(kind, done_s, 0, 0, done_s)
    elapsed = period.elapsed_days(as_of)
    expected_s = target_s * elapsed // period.days
    forecast_s = done_s * period.days // elapsed if elapsed else done_s
    return KindProgress(kind, done_s, target_s, expected_s, forecast_s)


@dataclass(frozen=True, slots=True)
class PersonProgress:
    """One person's year: who, where, and progress on both kinds of hours."""

    user_id: int
    username: str
    full_name: str
    department_code: str
    year: int
    on_the_job: KindProgress
    digital: KindProgress

    @property
    def behind(self) -> bool:
        """Behind on either kind."""
        return self.on_the_job.behind or self.digital.behind

    @property
    def met(self) -> bool:
        """Both targets reached."""
        return self.on_the_job.met and self.digital.met

    @property
    def forecast_met(self) -> bool:
        """Both targets reached at the current pace."""
        return self.on_the_job.forecast_short_s == 0 and self.digital.forecast_short_s == 0


@dataclass(frozen=True, slots=True)
class PersonYear:
    """What the progress of one person is computed from."""

    user_id: int
    username: str
    full_name: str
    department_code: str
    joined_on: date
    left_on: date | None
    done_s: dict[HourKind, int]


def person_progress(person: PersonYear, *, year: int, as_of: date) -> PersonProgress:
    """A person's progress for `year` seen on `as_of`."""
    period = service_period(year, person.joined_on, person.left_on)

    def of(kind: HourKind) -> KindProgress:
        return kind_progress(kind, person.done_s.get(kind, 0), year=year, period=period, as_of=as_of)

    return PersonProgress(
        user_id=person.user_id,
        username=person.username,
        full_name=person.full_name,
        department_code=person.department_code,
        year=year,
        on_the_job=of(HourKind.ON_THE_JOB),
        digital=of(HourKind.DIGITAL),
    )


@dataclass(frozen=True, slots=True)
class DepartmentRollup:
    """A department's year: head count, hours, and how many are done, behind, or forecast to fall short."""

    department_code: str
    staff: int
    on_the_job_s: int
    digital_s: int
    target_on_the_job_s: int
    target_digital_s: int
    met: int
    behind: int
    forecast_short: int

    @property
    def met_pct(self) -> float:
        """Share of the staff who reached both targets, in percent."""
        return 100.0 * self.met / self.staff if self.staff else 0.0


def rollup(people: Iterable[PersonProgress]) -> list[DepartmentRollup]:
    """Department roll-ups of people's progress, by department code."""
    groups: dict[str, list[PersonProgress]] = {}
    for person in people:
        groups.setdefault(person.department_code, []).append(person)
    return [
        DepartmentRollup(
            department_code=code,
            staff=len(members),
            on_the_job_s=sum(p.on_the_job.done_s for p in members),
            digital_s=sum(p.digital.done_s for p in members),
            target_on_the_job_s=sum(p.on_the_job.target_s for p in members),
            target_digital_s=sum(p.digital.target_s for p in members),
            met=sum(p.met for p in members),
            behind=sum(p.behind for p in members),
            forecast_short=sum(not p.forecast_met for p in members),
        )
        for code, members in sorted(groups.items())
    ]
