"""Alarm queries and acknowledgement (through cityhall.maintenance, which audits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityhall import maintenance
from cityhall.db import utcnow
from cityhall.errors import ConflictError, NotFoundError
from cityhall.models import Alarm, AlarmShelf, AlarmState, Device, Floor, Severity, Space


def list_query(
    *,
    state: AlarmState | None = None,
    severity: Severity | None = None,
    rule_key: str | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    raised_after: datetime | None = None,
    raised_before: datetime | None = None,
) -> Select[Alarm]:
    """Alarms, newest first, with the given filters."""
    stmt = select(Alarm).order_by(Alarm.raised_at.desc(), Alarm.id.desc())
    if state is not None:
        stmt = stmt.where(Alarm.state == state)
    if severity is not None:
        stmt = stmt.where(Alarm.severity == severity)
    if rule_key is not None:
        stmt = stmt.where(Alarm.rule_key == rule_key)
    if device_id is not None:
        stmt = stmt.where(Alarm.device_id == device_id)
    if building_id is not None:
        stmt = (
            stmt.join(Device, Alarm.device_id == Device.id)
            .join(Space, Device.space_id == Space.id)
            .join(Floor, Space.floor_id == Floor.id)
            .where(Floor.building_id == building_id)
        )
    if raised_after is not None:
        stmt = stmt.where(Alarm.raised_at >= raised_after)
    if raised_before is not None:
        stmt = stmt.where(Alarm.raised_at < raised_before)
    return stmt


def get(*, session: Session, alarm_id: int) -> Alarm:
    """An alarm by id, or 404."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFoundError("alarm_not_found", f"no alarm {alarm_id}", loc=("path", "alarm_id"))
    return alarm


def acknowledge(*, session: Session, alarm: Alarm, actor: str) -> Alarm:
    """Record that the caller has seen the alarm; 409 when it was acknowledged already."""
    maintenance.acknowledge_alarm(session, alarm=alarm, actor=actor)
    session.flush()
    return alarm


def close(*, session: Session, alarm: Alarm, actor: str) -> Alarm:
    """Sign off a cleared alarm; 409 while active or when closed already."""
    maintenance.close_alarm(session, alarm=alarm, actor=actor)
    session.flush()
    return alarm


def shelve(*, session: Session, alarm: Alarm, until: datetime, reason: str, actor: str) -> AlarmShelf:
    """Shelve the alarm's (rule, device) pair."""
    shelf = maintenance.shelve_alarm(session, alarm=alarm, until=until, reason=reason, actor=actor)
    session.flush()
    return shelf


def shelve_pair(
    *, session: Session, rule_key: str, device_id: int, until: datetime, reason: str, actor: str
) -> AlarmShelf:
    """Shelve a (rule, device) pair."""
    shelf = maintenance.shelve(
        session, rule_key=rule_key, device_id=device_id, until=until, reason=reason, actor=actor
    )
    session.flush()
    return shelf


def unshelve_alarm(*, session: Session, alarm: Alarm, actor: str) -> AlarmShelf:
    """End the shelf in force for the alarm's pair; 409 when none is."""
    shelf = maintenance.active_shelf(session, rule_key=alarm.rule_key, device_id=alarm.device_id)
    if shelf is None:
        raise ConflictError("not_shelved", f"alarm {alarm.id} is not shelved")
    maintenance.unshelve(session, shelf=shelf, actor=actor)
    session.flush()
    return shelf


def get_shelf(*, session: Session, shelf_id: int) -> AlarmShelf:
    """A shelf by id, or 404."""
    shelf = session.get(AlarmShelf, shelf_id)
    if shelf is None:
        raise NotFoundError("shelf_not_found", f"no shelf {shelf_id}", loc=("path", "shelf_id"))
    return shelf


def shelves_query(*, in_force: bool) -> Select[AlarmShelf]:
    """Shelves, newest first; only those in force when asked."""
    stmt = select(AlarmShelf).order_by(AlarmShelf.created_at.desc(), AlarmShelf.id.desc())
    if in_force:
        stmt = stmt.where(AlarmShelf.ended_at.is_(None), AlarmShelf.until > utcnow())
    return stmt
