"""Who may read and act on alarms, and dependencies that resolve alarm ids in the path or fail with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.alarms import service
from api.deps import Principal, SessionDep, require_roles
from cityhall.models import Alarm, Role

Reader = Annotated[
    Principal,
    Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.ENERGY_COMMITTEE, Role.AUDITOR)),
]
Acknowledger = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW))]


def valid_alarm_id(alarm_id: int, session: SessionDep) -> Alarm:
    """The alarm in the path; 404 naming the id otherwise."""
    return service.get(session=session, alarm_id=alarm_id)


ValidAlarm = Annotated[Alarm, Depends(valid_alarm_id)]
