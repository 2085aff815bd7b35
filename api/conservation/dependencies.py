"""Dependencies of the conservation routes (and the committee reports'): who may do what, the asset register's
departments, the reading store, and entities by id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from api.deps import Principal, SessionDep, SettingsDep, require_roles
from cityhall.conservation import committee, programmes, targets
from cityhall.energy.register import MeterRegister, configured_register
from cityhall.models import (
    CommitteeAction,
    CommitteeMeeting,
    ConservationProgramme,
    ConservationTarget,
    ConsumptionEntry,
    Role,
)
from cityhall.timeseries import AggregatingStore
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore

# Admin is admitted everywhere (api.deps.RoleGate).
READERS = (Role.ENERGY_COMMITTEE, Role.FACILITY_MANAGER, Role.STAFF, Role.AUDITOR)
COMMITTEE = (Role.ENERGY_COMMITTEE,)
ENTRANTS = (Role.ENERGY_COMMITTEE, Role.FACILITY_MANAGER, Role.STAFF)

Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Committee = Annotated[Principal, Depends(require_roles(*COMMITTEE))]
Entrant = Annotated[Principal, Depends(require_roles(*ENTRANTS))]


def meter_register(request: Request, settings: SettingsDep) -> MeterRegister:
    """The asset register's energy view: `app.state.meter_register` when the app was given one, else the
    document named by CITYHALL_ASSET_REGISTER_FILE (the seed by default). Departments (and their floor
    areas) come from its `departments:` section."""
    given = getattr(request.app.state, "meter_register", None)
    return given if isinstance(given, MeterRegister) else configured_register(settings)


def reading_store(request: Request, settings: SettingsDep) -> Iterator[AggregatingStore]:
    """InfluxDB when CITYHALL_INFLUX_URL is set; otherwise the readings table of the app's own database (the
    embedded default), through the app's engine and its pool, so there is nothing to close per request."""
    if not settings.influx_url:
        yield SqlStore(request.app.state.engine)
        return
    store = InfluxStore.from_settings(settings)
    try:
        yield store
    finally:
        store.close()


RegisterDep = Annotated[MeterRegister, Depends(meter_register)]
StoreDep = Annotated[AggregatingStore, Depends(reading_store)]


def valid_target_id(target_id: int, session: SessionDep) -> ConservationTarget:
    """The target in the path, or 404."""
    return targets.get_target(session, target_id)


def valid_entry_id(entry_id: int, session: SessionDep) -> ConsumptionEntry:
    """The entry in the path, or 404."""
    return targets.get_entry(session, entry_id)


def valid_meeting_id(meeting_id: int, session: SessionDep) -> CommitteeMeeting:
    """The meeting in the path, or 404."""
    return committee.get_meeting(session, meeting_id)


def valid_action_id(action_id: int, session: SessionDep) -> CommitteeAction:
    """The action item in the path, or 404."""
    return committee.get_action(session, action_id)


def valid_programme_id(programme_id: int, session: SessionDep) -> ConservationProgramme:
    """The programme in the path, or 404."""
    return programmes.get_programme(session, programme_id)


ValidTarget = Annotated[ConservationTarget, Depends(valid_target_id)]
ValidEntry = Annotated[ConsumptionEntry, Depends(valid_entry_id)]
ValidMeeting = Annotated[CommitteeMeeting, Depends(valid_meeting_id)]
ValidAction = Annotated[CommitteeAction, Depends(valid_action_id)]
ValidProgramme = Annotated[ConservationProgramme, Depends(valid_programme_id)]
