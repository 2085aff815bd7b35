"""Queries over the asset register."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityhall.assets import AssetImportError, ImportSummary, import_assets, load_csv, load_yaml
from cityhall.errors import InvalidInputError, NotFoundError
from cityhall.models import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind


def sites_query() -> Select[Site]:
    """All sites by code."""
    return select(Site).order_by(Site.code)


def get_site(*, session: Session, site_id: int) -> Site:
    """A site by id, or 404."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError("site_not_found", f"no site {site_id}", loc=("path", "site_id"))
    return site


def buildings_query(*, site_id: int | None = None, use: BuildingUse | None = None) -> Select[Building]:
    """Buildings by code, optionally of one site or one use."""
    stmt = select(Building).order_by(Building.code)
    if site_id is not None:
        stmt = stmt.where(Building.site_id == site_id)
    if use is not None:
        stmt = stmt.where(Building.use == use)
    return stmt


def get_building(*, session: Session, building_id: int) -> Building:
    """A building by id, or 404."""
    building = session.get(Building, building_id)
    if building is None:
        raise NotFoundError("building_not_found", f"no building {building_id}", loc=("path", "building_id"))
    return building


def spaces_query(*, building_id: int | None = None, kind: SpaceKind | None = None) -> Select[Space]:
    """Spaces by code, optionally in one building or of one kind."""
    stmt = select(Space).order_by(Space.code)
    if building_id is not None:
        stmt = stmt.join(Floor, Space.floor_id == Floor.id).where(Floor.building_id == building_id)
    if kind is not None:
        stmt = stmt.where(Space.kind == kind)
    return stmt


def devices_query(
    *,
    building_id: int | None = None,
    space_id: int | None = None,
    kind: DeviceKind | None = None,
    code: str | None = None,
) -> Select[Device]:
    """Devices by code, filtered by building, space, kind or exact code."""
    stmt = select(Device).order_by(Device.code)
    if building_id is not None:
        stmt = (
            stmt.join(Space, Device.space_id == Space.id)
            .join(Floor, Space.floor_id == Floor.id)
            .where(Floor.building_id == building_id)
        )
    if space_id is not None:
        stmt = stmt.where(Device.space_id == space_id)
    if kind is not None:
        stmt = stmt.where(Device.kind == kind)
    if code is not None:
        stmt = stmt.where(Device.code == code)
    return stmt


def find_device(*, session: Session, code: str) -> Device | None:
    """The device with this wire code, if any."""
    return session.scalars(select(Device).where(Device.code == code)).one_or_none()


def get_device(*, session: Session, id_or_code: str) -> Device:
    """A device by wire code, or else by numeric id; 404 otherwise."""
    device = find_device(session=session, code=id_or_code)
    if device is None and id_or_code.isdigit():
        device = session.get(Device, int(id_or_code))
    if device is None:
        raise NotFoundError("device_not_found", f"no device {id_or_code}", loc=("path", "id_or_code"))
    return device


MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_LOADERS = {".yaml": load_yaml, ".yml": load_yaml, ".csv": load_csv}


def import_upload(*, session: Session, filename: str, content: bytes, actor: str) -> ImportSummary:
    """Validate an uploaded YAML or CSV register and upsert it (cityhall.assets audits); 422 if invalid."""
    name = PurePath(filename or "upload").name
    suffix = PurePath(name).suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise InvalidInputError(
            "unsupported_file_type", f"{name}: expected a .yaml, .yml or .csv file", loc=("body", "file")
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInputError(
            "file_too_large", f"{name}: larger than {MAX_UPLOAD_BYTES} bytes", loc=("body", "file")
        )
    # The loaders read from a path and name it in every problem; show the caller's file name instead.
    with tempfile.TemporaryDirectory(prefix="cityhall-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            doc = loader(path)
        except AssetImportError as err:
            message = err.message.replace(str(path), name)
            raise InvalidInputError("invalid_asset_document", message, loc=("body", "file")) from err
    return import_assets(session, doc, actor=actor)
