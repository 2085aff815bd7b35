"""The committee's own records in a report: four-areas progress (cityhall.conservation) and action items."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from cityhall.conservation.progress import four_areas_progress
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister
from cityhall.models import CommitteeAction, CommitteeActionStatus
from cityhall.reports.content import ActionItemRow, ProgressRow, Quantity
from cityhall.reports.period import ReportPeriod
from cityhall.timeseries import AggregatingStore


def last_day(period: ReportPeriod) -> date:
    """The period's last Asia/Taipei day."""
    return (period.end - timedelta(days=1)).date()


def four_areas(
    session: Session, store: AggregatingStore | None, register: MeterRegister, *, period: ReportPeriod
) -> tuple[ProgressRow, ...]:
    """Every department's four-areas progress, year to date through the period's last day."""
    found = four_areas_progress(session, store, register, year=period.year, through=last_day(period))
    return tuple(
        ProgressRow(
            department=row.department,
            department_name=row.department_name,
            area=row.area,
            metered=Quantity(row.metered, row.unit),
            entered=Quantity(row.entered, row.unit),
            actual=Quantity(row.actual, row.unit),
            target=Quantity(row.target, row.unit),
            target_to_date=Quantity(row.target_to_date, row.unit),
            forecast=Quantity(row.forecast, row.unit),
            status=row.status,
        )
        for row in found  # ordered by department, then electricity, water, fuel, paper
    )


def action_items(session: Session, *, at: datetime) -> tuple[ActionItemRow, ...]:
    """Action items still open at `at` (the period's end), oldest due first; overdue when due before it."""
    today = at.astimezone(TAIPEI).date()
    rows = session.scalars(
        select(CommitteeAction)
        .options(joinedload(CommitteeAction.meeting))
        .where(
            or_(
                CommitteeAction.status == CommitteeActionStatus.OPEN,
                CommitteeAction.done_at >= at,
            )
        )
        .order_by(CommitteeAction.due_on, CommitteeAction.id)
    )
    return tuple(
        ActionItemRow(
            id=a.id,
            description=a.description,
            owner=a.owner_name,
            due_on=a.due_on,
            overdue=a.due_on < today,
            meeting=f"{a.meeting.title} ({a.meeting.starts_at.astimezone(TAIPEI):%Y-%m-%d})",
        )
        for a in rows
        if a.meeting.starts_at < at  # decided at a meeting held by then
    )
