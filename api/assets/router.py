"""The asset register: read by any signed-in role, imported by admins and facility managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile

from api.assets import service
from api.assets.dependencies import ValidBuilding, ValidDevice, ValidSite
from api.assets.schemas import (
    BuildingDetail,
    BuildingRead,
    DeviceRead,
    ImportSummaryRead,
    SiteDetail,
    SiteRead,
    SpaceRead,
)
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import BuildingUse, DeviceKind, Role, SpaceKind

router = APIRouter(tags=["assets"])

Reader = Annotated[Principal, Depends(require_roles(*Role))]
Writer = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER))]


@router.get("/sites", response_model=Page[SiteRead])
def list_sites(_who: Reader, session: SessionDep, page: PageDep) -> Page[SiteRead]:
    """Sites by code."""
    return paginate(session, service.sites_query(), page, SiteRead.model_validate)


@router.get("/sites/{site_id}", response_model=SiteDetail)
def get_site(_who: Reader, site: ValidSite) -> SiteDetail:
    """One site with its buildings."""
    return SiteDetail.model_validate(site)


@router.get("/buildings", response_model=Page[BuildingRead])
def list_buildings(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    site_id: int | None = None,
    use: BuildingUse | None = None,
) -> Page[BuildingRead]:
    """Buildings by code, optionally of one site or one use."""
    stmt = service.buildings_query(site_id=site_id, use=use)
    return paginate(session, stmt, page, BuildingRead.model_validate)


@router.get("/buildings/{building_id}", response_model=BuildingDetail)
def get_building(_who: Reader, building: ValidBuilding) -> BuildingDetail:
    """One building with its floors."""
    return BuildingDetail.model_validate(building)


@router.get("/spaces", response_model=Page[SpaceRead])
def list_spaces(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    building_id: int | None = None,
    kind: SpaceKind | None = None,
) -> Page[SpaceRead]:
    """Spaces by code, optionally in one building or of one kind."""
    stmt = service.spaces_query(building_id=building_id, kind=kind)
    return paginate(session, stmt, page, SpaceRead.model_validate)


@router.get("/devices", response_model=Page[DeviceRead])
def list_devices(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    building_id: int | None = None,
    space_id: int | None = None,
    kind: DeviceKind | None = None,
    code: str | None = None,
) -> Page[DeviceRead]:
    """Devices by code, filtered by building, space, kind or exact wire code."""
    stmt = service.devices_query(building_id=building_id, space_id=space_id, kind=kind, code=code)
    return paginate(session, stmt, page, DeviceRead.model_validate)


@router.get("/devices/{id_or_code}", response_model=DeviceRead)
def get_device(_who: Reader, device: ValidDevice) -> DeviceRead:
    """One device, by wire code or numeric id."""
    return DeviceRead.model_validate(device)


@router.post("/assets/import", response_model=ImportSummaryRead)
def import_assets(
    who: Writer,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="A YAML (.yaml/.yml) or CSV (.csv) asset register")],
) -> ImportSummaryRead:
    """Upsert sites, buildings, floors, spaces and devices from an uploaded register; 422 lists problems."""
    # A plain def runs in the thread pool, so reading the spooled upload and the import do not block the loop.
    content = file.file.read(service.MAX_UPLOAD_BYTES + 1)
    summary = service.import_upload(
        session=session, filename=file.filename or "", content=content, actor=who.actor
    )
    return ImportSummaryRead.model_validate(summary)
