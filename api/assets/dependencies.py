"""Dependencies that resolve asset ids in the path or fail with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.assets import service
from api.deps import SessionDep
from cityhall.models import Building, Device, Site


def valid_site_id(site_id: int, session: SessionDep) -> Site:
    """The site in the path; 404 naming the id otherwise."""
    return service.get_site(session=session, site_id=site_id)


def valid_building_id(building_id: int, session: SessionDep) -> Building:
    """The building in the path; 404 naming the id otherwise."""
    return service.get_building(session=session, building_id=building_id)


def valid_device(id_or_code: str, session: SessionDep) -> Device:
    """The device in the path, by wire code or id; 404 otherwise."""
    return service.get_device(session=session, id_or_code=id_or_code)


ValidSite = Annotated[Site, Depends(valid_site_id)]
ValidBuilding = Annotated[Building, Depends(valid_building_id)]
ValidDevice = Annotated[Device, Depends(valid_device)]
