"""Constants and small types shared by the API tests and their fixtures (a module name unique in tests/)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cityhall.models import Role

PASSWORD = "correct-horse-battery-staple"
JWT_SECRET = "api-tests-" + "x" * 40

# username -> role; two crew members and two staff so "someone else's ticket" can be tested.
PEOPLE: dict[str, Role] = {
    "ada": Role.ADMIN,
    "fiona": Role.FACILITY_MANAGER,
    "chen": Role.MAINTENANCE_CREW,
    "wang": Role.MAINTENANCE_CREW,
    "sam": Role.STAFF,
    "sue": Role.STAFF,
    "eric": Role.ENERGY_COMMITTEE,
    "audrey": Role.AUDITOR,
}

Headers = dict[str, str]
AuthFor = Callable[[str], Headers]


@dataclass(frozen=True, slots=True)
class AssetIds:
    """Ids of the small asset register the tests share."""

    site_id: int
    civic_id: int
    dorm_id: int
    civic_floor_id: int
    civic_office_id: int
    dorm_room_id: int
    civic_meter_id: int
    civic_climate_id: int
    dorm_meter_id: int
