"""The asset register: sites -> buildings -> floors -> spaces, and the devices in them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.contract import PayloadFormat
from cityhall.db import Base
from cityhall.models.types import str_enum


class BuildingUse(StrEnum):
    """What a building is for; drives schedules and reports."""

    CIVIC_CENTER = "civic_center"
    OFFICE = "office"
    DORMITORY = "dormitory"


class SpaceKind(StrEnum):
    """What a space is used as."""

    OFFICE = "office"
    HALL = "hall"
    MEETING_ROOM = "meeting_room"
    DORMITORY_ROOM = "dormitory_room"
    PLANT_ROOM = "plant_room"
    CORRIDOR = "corridor"
    LOBBY = "lobby"
    ROOF = "roof"
    PARKING = "parking"


class DeviceKind(StrEnum):
    """Device families; each measures a fixed set of quantities (cityhall.assets.DEVICE_QUANTITIES)."""

    ELECTRICITY_METER = "electricity_meter"
    WATER_METER = "water_meter"
    FUEL_METER = "fuel_meter"
    SOLAR_INVERTER = "solar_inverter"
    CLIMATE_SENSOR = "climate_sensor"
    OCCUPANCY_SENSOR = "occupancy_sensor"
    AIR_CONDITIONER = "air_conditioner"
    CONTACT_SENSOR = "contact_sensor"


class Site(Base):
    """A campus or address, e.g. the Yonghua Civic Center."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    buildings: Mapped[list[Building]] = relationship(back_populates="site", order_by="Building.code")


class Building(Base):
    """A building on a site."""

    __tablename__ = "buildings"
    __table_args__ = (CheckConstraint("gross_floor_area_m2 > 0", name="area_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    use: Mapped[BuildingUse] = mapped_column(str_enum(BuildingUse))
    gross_floor_area_m2: Mapped[float] = mapped_column(Float)
    year_built: Mapped[int | None] = mapped_column(Integer)

    site: Mapped[Site] = relationship(back_populates="buildings")
    floors: Mapped[list[Floor]] = relationship(back_populates="building", order_by="Floor.level")


class Floor(Base):
    """A storey; level 0 is the ground floor, negative levels are basements."""

    __tablename__ = "floors"
    __table_args__ = (UniqueConstraint("building_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="RESTRICT"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    area_m2: Mapped[float] = mapped_column(Float)

    building: Mapped[Building] = relationship(back_populates="floors")
    spaces: Mapped[list[Space]] = relationship(back_populates="floor", order_by="Space.code")


class Space(Base):
    """A room or zone on a floor."""

    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SpaceKind] = mapped_column(str_enum(SpaceKind))
    area_m2: Mapped[float] = mapped_column(Float)
    capacity_people: Mapped[int | None] = mapped_column(Integer)

    floor: Mapped[Floor] = relationship(back_populates="spaces")
    devices: Mapped[list[Device]] = relationship(back_populates="space", order_by="Device.code")


class Device(Base):
    """A meter or sensor in a space; `code` is its id on the MQTT wire."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="RESTRICT"), index=True)
    quantities: Mapped[list[str]] = mapped_column(JSON)
    serves: Mapped[str] = mapped_column(String(100), default="")  # e.g. "whole building", "HVAC", "lighting"
    is_active: Mapped[bool] = mapped_column(default=True)
    # How the device reports (cityhall.reporting): its payload family, and what the register says beyond the
    # kind's and the family's defaults (mode, interval_s, resolution per quantity, flow), as given.
    payload_format: Mapped[PayloadFormat] = mapped_column(
        str_enum(PayloadFormat), default=PayloadFormat.NATIVE, server_default=PayloadFormat.NATIVE.value
    )
    reporting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    space: Mapped[Space] = relationship(back_populates="devices")
