"""Dependencies that resolve alarm ids in the path or fail with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.alarms import service
from api.deps import SessionDep
from cityhall.models import Alarm


def valid_alarm_id(alarm_id: int, session: SessionDep) -> Alarm:
    """The alarm in the path; 404 naming the id otherwise."""
    return service.get(session=session, alarm_id=alarm_id)


ValidAlarm = Annotated[Alarm, Depends(valid_alarm_id)]
