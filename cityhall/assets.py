"""The asset-register import: sites, buildings, floors, spaces and devices from a YAML or CSV document.

A document is parsed into pydantic schemas; every problem is reported with the file, the line and the field.
A valid document is upserted by code, and each created or updated row gets an audit entry. The user guide
is docs/assets.md; keep the two in step.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.audit import record, snapshot
from cityhall.contract import DEVICE_CODE_RE, QUANTITIES, DeviceCode, PayloadFormat
from cityhall.models.assets import Building, BuildingUse, Device, DeviceKind, Floor, Site, Space, SpaceKind
from cityhall.reporting import ReportingSpec

DEVICE_QUANTITIES: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.ELECTRICITY_METER: ("power_kw", "energy_kwh"),
    DeviceKind.WATER_METER: ("volume_m3", "flow_m3h"),
    DeviceKind.FUEL_METER: ("volume_m3", "flow_m3h"),
    DeviceKind.SOLAR_INVERTER: ("power_kw", "energy_kwh"),
    DeviceKind.CLIMATE_SENSOR: ("temperature_c", "humidity_pct", "co2_ppm"),
    DeviceKind.OCCUPANCY_SENSOR: ("occupancy_count",),
    DeviceKind.AIR_CONDITIONER: ("on_state", "setpoint_c", "power_kw"),
    DeviceKind.CONTACT_SENSOR: ("open_state",),
}

# Fail at import rather than let the collector silently drop readings of a quantity nobody catalogued.
_uncatalogued = {key for keys in DEVICE_QUANTITIES.values() for key in keys} - QUANTITIES.keys()
_unmapped = set(DeviceKind) - DEVICE_QUANTITIES.keys()
if _uncatalogued or _unmapped:
    raise RuntimeError(f"DEVICE_QUANTITIES out of step: unknown {_uncatalogued}, kinds missing {_unmapped}")

_TAIPEI = ZoneInfo("Asia/Taipei")
# Areas are surveyed to 0.01 m2 and summed as floats; a hundredth of slack avoids rounding false alarms.
_AREA_SLACK_M2 = 0.01
_MAX_REPORTED = 50
# The loaders run the cross-document checks themselves so they can attach line numbers to both places.
_DEFER_CROSS_CHECKS = "defer_cross_checks"

Loc = tuple[str | int, ...]
Where = Callable[[Loc], str]  # formats a document path as `line N, ...` for one source file


class AssetImportError(ValueError):
    """An asset document that cannot be imported; the message names the file, the line and the field."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)


def _code_of_length(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        # Same character rule as device codes: codes appear in MQTT topics, URLs and file names.
        if len(value) > max_length or not DEVICE_CODE_RE.match(value):
            raise ValueError(
                f"code must be 1-{max_length} characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    return AfterValidator(check)


SiteCode = Annotated[str, _code_of_length(32)]
BuildingCode = Annotated[str, _code_of_length(32)]
SpaceCode = Annotated[str, _code_of_length(48)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FloorName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AreaM2 = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceSpec(_Spec):
    """A meter or sensor; what it measures follows from its kind (DEVICE_QUANTITIES)."""

    code: DeviceCode
    name: Name
    kind: DeviceKind
    serves: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    payload_format: PayloadFormat = PayloadFormat.NATIVE
    # How it reports, beyond its kind's and family's defaults (cityhall.reporting; docs/assets.md).
    reporting: ReportingSpec = ReportingSpec()

    @property
    def quantities(self) -> tuple[str, ...]:
        """Quantity keys this device reports, from its kind."""
        return DEVICE_QUANTITIES[self.kind]

    @model_validator(mode="after")
    def _resolutions_of_own_quantities(self) -> DeviceSpec:
        unknown = self.reporting.unknown_quantities(self.quantities)
        if unknown:
            raise ValueError(
                f"reporting.resolution names {', '.join(unknown)}, which a {self.kind.value} does not "
                f"measure; it measures {', '.join(self.quantities)}"
            )
        return self


class SpaceSpec(_Spec):
    """A room or zone on a floor."""

    code: SpaceCode
    name: Name
    kind: SpaceKind
    area_m2: AreaM2
    capacity_people: Annotated[int, Field(ge=1, le=100_000)] | None = None
    devices: tuple[DeviceSpec, ...] = ()


class FloorSpec(_Spec):
    """A storey: level 0 is the ground floor, negative levels are basements."""

    level: Annotated[int, Field(ge=-10, le=200)]
    name: FloorName
    area_m2: AreaM2
    spaces: tuple[SpaceSpec, ...] = ()

    @model_validator(mode="after")
    def _spaces_fit_on_floor(self) -> Self:
        total = sum(space.area_m2 for space in self.spaces)
        if total > self.area_m2 + _AREA_SLACK_M2:
            raise ValueError(
                f"the spaces add up to {total:.2f} m2, more than the floor's area_m2 of {self.area_m2:.2f} m2"
            )
        return self


class BuildingSpec(_Spec):
    """A building on a site."""

    code: BuildingCode
    name: Name
    use: BuildingUse
    gross_floor_area_m2: AreaM2
    year_built: int | None = None
    floors: tuple[FloorSpec, ...] = ()

    @field_validator("year_built")
    @classmethod
    def _standing_building(cls, value: int | None) -> int | None:
        # The register holds standing buildings; a planned one joins when it is handed over.
        this_year = datetime.now(_TAIPEI).year
        if value is not None and not 1850 <= value <= this_year:
            raise ValueError(f"year_built must be between 1850 and {this_year}")
        return value


class SiteSpec(_Spec):
    """A campus or address."""

    code: SiteCode
    name: Name
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    buildings: tuple[BuildingSpec, ...] = ()

    @model_validator(mode="after")
    def _both_coordinates_or_neither(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


# Kinds whose registers can be summed into a virtual meter (they count kWh or m3).
METER_KINDS = frozenset(
    {DeviceKind.ELECTRICITY_METER, DeviceKind.WATER_METER, DeviceKind.FUEL_METER, DeviceKind.SOLAR_INVERTER}
)


class VirtualMeterSpec(_Spec):
    """A meter computed from real ones: the sum of `plus` minus the sum of `minus`, all of one kind."""

    code: DeviceCode
    name: Name
    kind: DeviceKind
    plus: tuple[DeviceCode, ...] = Field(min_length=1)
    minus: tuple[DeviceCode, ...] = ()

    @field_validator("kind")
    @classmethod
    def _meter_kind(cls, kind: DeviceKind) -> DeviceKind:
        if kind not in METER_KINDS:
            raise ValueError(f"a virtual meter sums registers; kind must be one of {sorted(METER_KINDS)}")
        return kind


class DepartmentSpec(_Spec):
    """A department and the spaces it occupies; its share of a building is by floor area."""

    code: SiteCode
    name: Name
    spaces: tuple[SpaceCode, ...] = Field(min_length=1)


class AssetDocument(_Spec):
    """A whole import document: the sites and everything in them, virtual meters and departments."""

    sites: tuple[SiteSpec, ...]
    virtual_meters: tuple[VirtualMeterSpec, ...] = ()
    departments: tuple[DepartmentSpec, ...] = ()

    @field_validator("sites")
    @classmethod
    def _not_empty(cls, sites: tuple[SiteSpec, ...]) -> tuple[SiteSpec, ...]:
        # Checked here, not with min_length, which also fires when a site merely failed to validate.
        if not sites:
            raise ValueError("the document lists no sites")
        return sites

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(_DEFER_CROSS_CHECKS):
            return self
        problems = _cross_check(self)
        if problems:
            raise ValueError("; ".join(f"{_dotted(p.loc)}: {p.message}" for p in problems))
        return self

    def devices(self) -> Iterable[tuple[SiteSpec, BuildingSpec, FloorSpec, SpaceSpec, DeviceSpec]]:
        """Every device with the site, building, floor and space that hold it."""
        for site in self.sites:
            for building in site.buildings:
                for floor in building.floors:
                    for space in floor.spaces:
                        for device in space.devices:
                            yield site, building, floor, space, device


@dataclass(frozen=True, slots=True)
class _Problem:
    loc: Loc
    message: str
    first: Loc | None = None  # where a duplicated value was first used


def _cross_check(doc: AssetDocument) -> list[_Problem]:
    """Checks that span the document: codes unique per entity kind, floor levels unique per building."""
    seen: dict[tuple[str, str], Loc] = {}
    problems: list[_Problem] = []

    def claim(entity: str, code: str, loc: Loc) -> None:
        first = seen.setdefault((entity, code), loc)
        if first != loc:
            problems.append(_Problem((*loc, "code"), f"duplicate {entity} code {code!r}", (*first, "code")))

    for s, site in enumerate(doc.sites):
        site_loc: Loc = ("sites", s)
        claim("site", site.code, site_loc)
        for b, building in enumerate(site.buildings):
            building_loc: Loc = (*site_loc, "buildings", b)
            claim("building", building.code, building_loc)
            levels: dict[int, Loc] = {}
            for f, floor in enumerate(building.floors):
                floor_loc: Loc = (*building_loc, "floors", f)
                first_level = levels.setdefault(floor.level, floor_loc)
                if first_level != floor_loc:
                    problems.append(
                        _Problem(
                            (*floor_loc, "level"),
                            f"duplicate floor level {floor.level} in building {building.code!r}",
                            (*first_level, "level"),
                        )
                    )
                for p, space in enumerate(floor.spaces):
                    space_loc: Loc = (*floor_loc, "spaces", p)
                    claim("space", space.code, space_loc)
                    for d, device in enumerate(space.devices):
                        claim("device", device.code, (*space_loc, "devices", d))
    return problems + _energy_cross_check(doc, seen)


def _energy_cross_check(doc: AssetDocument, seen: dict[tuple[str, str], Loc]) -> list[_Problem]:
    """Virtual meters name registered meters of their own kind; departments name registered spaces."""
    kinds = {device.code: device.kind for *_, device in doc.devices()}
    problems: list[_Problem] = []
    for v, meter in enumerate(doc.virtual_meters):
        loc: Loc = ("virtual_meters", v)
        first = seen.setdefault(("device", meter.code), loc)
        if first != loc:
            problems.append(
                _Problem((*loc, "code"), f"duplicate device code {meter.code!r}", (*first, "code"))
            )
        for side in ("plus", "minus"):
            for t, code in enumerate(getattr(meter, side)):
                if code not in kinds:
                    problems.append(_Problem((*loc, side, t), f"unknown device {code!r}"))
                elif kinds[code] != meter.kind:
                    problems.append(
                        _Problem((*loc, side, t), f"{code!r} is a {kinds[code]}, not a {meter.kind}")
                    )
        both = sorted(set(meter.plus) & set(meter.minus))
        if both:
            problems.append(_Problem((*loc, "minus"), f"in both plus and minus: {', '.join(both)}"))
    for d, department in enumerate(doc.departments):
        loc = ("departments", d)
        first = seen.setdefault(("department", department.code), loc)
        if first != loc:
            problems.append(
                _Problem((*loc, "code"), f"duplicate department code {department.code!r}", (*first, "code"))
            )
        for p, code in enumerate(department.spaces):
            if ("space", code) not in seen:
                problems.append(_Problem((*loc, "spaces", p), f"unknown space {code!r}"))
            # A space in two departments would be allocated twice and its energy counted twice.
            holder = seen.setdefault(("department space", code), (*loc, "spaces", p))
            if holder != (*loc, "spaces", p):
                problems.append(
                    _Problem((*loc, "spaces", p), f"space {code!r} is in two departments", holder)
                )
    return problems


def _dotted(loc: Loc) -> str:
    """`('sites', 0, 'buildings', 1, 'code')` -> `sites[0].buildings[1].code`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


def _nearest(loc: Loc, known: dict[Loc, int]) -> tuple[Loc, int] | None:
    """The longest prefix of `loc` that has a line number (a missing field points at its parent)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in known:
            return loc[:end], known[loc[:end]]
    return None


class YamlSource:
    """Maps document paths to YAML line numbers from the composed node tree."""

    def __init__(self, root: yaml.Node) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicate_keys: list[tuple[Loc, int]] = []
        self._walk(root, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                # safe_load keeps the last of two equal keys without a word; a register needs to hear of it.
                if key_node.value in keys:
                    self.duplicate_keys.append(((*loc, key_node.value), key_node.start_mark.line + 1))
                    continue
                keys.add(key_node.value)
                self._walk(value_node, (*loc, key_node.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*loc, index))

    def where(self, loc: Loc) -> str:
        """`line N, <dotted path>` for a document path."""
        found = _nearest(loc, self.lines)
        return f"line {found[1]}, {_dotted(loc)}" if found else _dotted(loc)


# CSV column for each schema field, by depth: sites, buildings, floors, spaces, devices.
_CSV_FIELDS: tuple[dict[str, str], ...] = (
    {
        "code": "site_code",
        "name": "site_name",
        "address": "site_address",
        "latitude": "site_latitude",
        "longitude": "site_longitude",
    },
    {
        "code": "building_code",
        "name": "building_name",
        "use": "building_use",
        "gross_floor_area_m2": "building_area_m2",
        "year_built": "building_year_built",
    },
    {"level": "floor_level", "name": "floor_name", "area_m2": "floor_area_m2"},
    {
        "code": "space_code",
        "name": "space_name",
        "kind": "space_kind",
        "area_m2": "space_area_m2",
        "capacity_people": "space_capacity_people",
    },
    {
        "code": "device_code",
        "name": "device_name",
        "kind": "device_kind",
        "serves": "device_serves",
        "payload_format": "device_payload_format",
    },
)
_DEVICE_FIELDS = {"code", "name", "kind", "serves", "payload_format"}
_CSV_CHILDREN = ("sites", "buildings", "floors", "spaces", "devices")
_CSV_OPTIONAL = frozenset(
    {
        "site_address",
        "site_latitude",
        "site_longitude",
        "building_year_built",
        "space_capacity_people",
        "device_serves",
        "device_payload_format",
    }
)
_CSV_COLUMNS = tuple(column for level in _CSV_FIELDS for column in level.values())
_CSV_REQUIRED = tuple(column for column in _CSV_COLUMNS if column not in _CSV_OPTIONAL)


@dataclass(slots=True)
class _CsvEntity:
    loc: Loc
    line: int
    fields: dict[str, str]
    parent_key: str
    children: dict[str, _CsvEntity] = field(default_factory=dict)

    def as_data(self, depth: int) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.fields)
        if depth + 1 < len(_CSV_CHILDREN):
            data[_CSV_CHILDREN[depth + 1]] = [c.as_data(depth + 1) for c in self.children.values()]
        return data


class _CsvSource:
    """Maps document paths to the CSV line (and column) that declared them."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}

    def where(self, loc: Loc) -> str:
        """`line N, column C (<dotted path>)` for a document path."""
        found = _nearest(loc, self.lines)
        if found is None:
            return f"line 1 ({_dotted(loc)})"
        prefix, line = found
        depth = len(prefix) // 2 - 1
        if len(loc) > len(prefix) and 0 <= depth < len(_CSV_FIELDS):
            column = _CSV_FIELDS[depth].get(str(loc[len(prefix)]))
            if column:
                return f"line {line}, column {column} ({_dotted(loc)})"
        return f"line {line} ({_dotted(loc)})"


def _line_of(problem: str) -> int:
    found = re.match(r"line (\d+)", problem)
    return int(found.group(1)) if found else 0


def _report(path: Path, problems: Sequence[str]) -> AssetImportError:
    problems = sorted(problems, key=_line_of)  # in file order, however each was found
    shown = list(problems[:_MAX_REPORTED])
    if len(problems) > _MAX_REPORTED:
        shown.append(f"... and {len(problems) - _MAX_REPORTED} more")
    noun = "problem" if len(problems) == 1 else "problems"
    message = f"{path}: {len(problems)} {noun} in the asset document:\n" + "\n".join(f"  {p}" for p in shown)
    return AssetImportError(message, problems)


def _validation_problems(err: ValidationError, where: Where) -> list[str]:
    out = []
    for item in err.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool) and len(str(given)) <= 60:
            message += f" (got {given!r})"
        out.append(f"{where(tuple(item['loc']))}: {message}")
    return out


def _validated(data: object, path: Path, where: Where, earlier: list[str]) -> AssetDocument:
    try:
        doc = AssetDocument.model_validate(data, context={_DEFER_CROSS_CHECKS: True})
    except ValidationError as err:
        raise _report(path, [*earlier, *_validation_problems(err, where)]) from err
    problems = earlier + [
        f"{where(p.loc)}: {p.message}" + (f"; first used at {where(p.first)}" if p.first else "")
        for p in _cross_check(doc)
    ]
    if problems:
        raise _report(path, problems)
    return doc


def load_yaml(path: str | Path) -> AssetDocument:
    """Read and validate a YAML asset document; raise AssetImportError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as err:
        raise AssetImportError(f"{path}: cannot read the file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise AssetImportError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise AssetImportError(f"{path}: YAML syntax error at {at}: {err.problem or err}") from err
    except yaml.YAMLError as err:
        raise AssetImportError(f"{path}: YAML syntax error: {err}") from err
    if root is None:
        raise AssetImportError(f"{path}: the file is empty; expected a mapping with a 'sites' list")
    source = YamlSource(root)
    earlier = [
        f"line {line}, {_dotted(loc)}: key given twice in the same mapping"
        for loc, line in source.duplicate_keys
    ]
    return _validated(data, path, source.where, earlier)


def load_csv(path: str | Path) -> AssetDocument:
    """Read and validate a CSV asset register, one row per device; errors name file, line and column."""
    path = Path(path)
    try:
        # utf-8-sig: spreadsheet exports (Excel in zh-TW) start with a byte-order mark.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _parse_csv(path, csv.DictReader(handle))
    except OSError as err:
        raise AssetImportError(f"{path}: cannot read the file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise AssetImportError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except csv.Error as err:
        raise AssetImportError(f"{path}: malformed CSV: {err}") from err


def _parse_csv(path: Path, reader: csv.DictReader[str]) -> AssetDocument:
    header = [name.strip() for name in reader.fieldnames or []]
    problems = [f"line 1: missing column {c!r}" for c in _CSV_REQUIRED if c not in header]
    problems += [
        f"line 1: unknown column {c!r}; known: {', '.join(_CSV_COLUMNS)}"
        for c in header
        if c not in _CSV_COLUMNS
    ]
    problems += [f"line 1: column {c!r} given twice" for c in sorted(set(header)) if header.count(c) > 1]
    if problems:
        raise _report(path, problems)
    reader.fieldnames = header

    source = _CsvSource()
    sites: dict[str, _CsvEntity] = {}
    # Buildings and spaces are keyed by their document-wide codes, floors by (building code, level).
    index: dict[tuple[int, str], _CsvEntity] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more cells than the header has columns")
            continue
        cells = {column: (value or "").strip() for column, value in row.items() if column is not None}
        if not any(cells.values()):
            continue  # blank spreadsheet rows
        keys = (
            cells["site_code"],
            cells["building_code"],
            f"{cells['building_code']}@{cells['floor_level']}",
            cells["space_code"],
        )
        siblings = sites
        parent_key = ""
        for depth, key in enumerate(keys):
            values = _csv_values(cells, depth)
            entity = index.get((depth, key))
            if entity is None:
                parent_loc: Loc = () if depth == 0 else index[(depth - 1, keys[depth - 1])].loc
                loc: Loc = (*parent_loc, _CSV_CHILDREN[depth], len(siblings))
                entity = _CsvEntity(loc, line, values, parent_key)
                siblings[key] = index[(depth, key)] = entity
                source.lines[loc] = line
            else:
                problems += _csv_conflicts(entity, values, parent_key, depth, line)
            siblings, parent_key = entity.children, key
        device = _csv_values(cells, 4)
        if any(device.values()):
            loc = (*index[(3, keys[3])].loc, "devices", len(siblings))
            siblings[f"#{line}"] = _CsvEntity(loc, line, device, parent_key)
            source.lines[loc] = line
    data = {"sites": [site.as_data(0) for site in sites.values()]}
    return _validated(data, path, source.where, problems)


def _csv_values(cells: dict[str, str], depth: int) -> dict[str, str]:
    # An empty optional cell means "not given" so the schema default applies.
    return {
        name: cells.get(column, "")
        for name, column in _CSV_FIELDS[depth].items()
        if column not in _CSV_OPTIONAL or cells.get(column)
    }


def _csv_conflicts(
    entity: _CsvEntity, values: dict[str, str], parent_key: str, depth: int, line: int
) -> list[str]:
    """A repeated site/building/floor/space must repeat its first row's values exactly."""
    what = _CSV_CHILDREN[depth][:-1]
    problems = []
    if entity.parent_key != parent_key:
        parent = _CSV_CHILDREN[depth - 1][:-1]
        column = _CSV_FIELDS[depth - 1].get("code", _CSV_FIELDS[depth - 1].get("level", ""))
        problems.append(
            f"line {line}, column {column}: this {what} was listed under {parent} "
            f"{entity.parent_key!r} on line {entity.line}"
        )
    for name, value in values.items():
        first = entity.fields.get(name)
        if first is not None and first != value:
            problems.append(
                f"line {line}, column {_CSV_FIELDS[depth][name]}: {value!r} differs from {first!r} "
                f"given for the same {what} on line {entity.line}"
            )
    return problems


@dataclass(slots=True)
class EntityCounts:
    """Rows created, updated and left unchanged for one kind of entity."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


ENTITIES = ("site", "building", "floor", "space", "device")


@dataclass(slots=True)
class ImportSummary:
    """What an import did, per entity kind (keys of `counts`: site, building, floor, space, device)."""

    counts: dict[str, EntityCounts] = field(default_factory=lambda: {e: EntityCounts() for e in ENTITIES})

    @property
    def created(self) -> int:
        """Rows created, all entities together."""
        return sum(c.created for c in self.counts.values())

    @property
    def updated(self) -> int:
        """Rows updated, all entities together."""
        return sum(c.updated for c in self.counts.values())

    @property
    def unchanged(self) -> int:
        """Rows already as the document says, all entities together."""
        return sum(c.unchanged for c in self.counts.values())


_Row = TypeVar("_Row", Site, Building, Floor, Space, Device)


@dataclass(slots=True)
class _Upserter:
    session: Session
    summary: ImportSummary
    # (action, entity, before, row): `after` is read once the final flush has filled in defaults.
    changes: list[tuple[str, str, dict[str, Any] | None, Site | Building | Floor | Space | Device]] = field(
        default_factory=list
    )

    def put(self, entity: str, existing: _Row | None, model: type[_Row], values: dict[str, Any]) -> _Row:
        counts = self.summary.counts[entity]
        if existing is None:
            row = model(**values)
            self.session.add(row)
            self.session.flush()  # children need the new id
            counts.created += 1
            self.changes.append(("create", entity, None, row))
            return row
        changed = {key: value for key, value in values.items() if getattr(existing, key) != value}
        if not changed:
            counts.unchanged += 1
            return existing
        before = snapshot(existing)
        for key, value in changed.items():
            setattr(existing, key, value)
        counts.updated += 1
        self.changes.append(("update", entity, before, existing))
        return existing


def import_assets(session: Session, doc: AssetDocument, *, actor: str) -> ImportSummary:
    """Upsert the document by code inside the caller's transaction, auditing every created or updated row."""
    if not actor.strip():
        raise ValueError("actor is required: every write to the register is audited")
    # The register is small (thousands of rows): one query per table beats one per row.
    sites = {row.code: row for row in session.scalars(select(Site))}
    buildings = {row.code: row for row in session.scalars(select(Building))}
    floors = {(row.building_id, row.level): row for row in session.scalars(select(Floor))}
    spaces = {row.code: row for row in session.scalars(select(Space))}
    devices = {row.code: row for row in session.scalars(select(Device))}

    upsert = _Upserter(session, ImportSummary())
    for site_spec in doc.sites:
        site = upsert.put(
            "site",
            sites.get(site_spec.code),
            Site,
            site_spec.model_dump(include={"code", "name", "address", "latitude", "longitude"}),
        )
        for building_spec in site_spec.buildings:
            building = upsert.put(
                "building",
                buildings.get(building_spec.code),
                Building,
                {"site_id": site.id}
                | building_spec.model_dump(
                    include={"code", "name", "use", "gross_floor_area_m2", "year_built"}
                ),
            )
            for floor_spec in building_spec.floors:
                floor = upsert.put(
                    "floor",
                    floors.get((building.id, floor_spec.level)),
                    Floor,
                    {"building_id": building.id}
                    | floor_spec.model_dump(include={"level", "name", "area_m2"}),
                )
                for space_spec in floor_spec.spaces:
                    space = upsert.put(
                        "space",
                        spaces.get(space_spec.code),
                        Space,
                        {"floor_id": floor.id}
                        | space_spec.model_dump(
                            include={"code", "name", "kind", "area_m2", "capacity_people"}
                        ),
                    )
                    for device_spec in space_spec.devices:
                        upsert.put(
                            "device",
                            devices.get(device_spec.code),
                            Device,
                            {"space_id": space.id, "quantities": list(device_spec.quantities)}
                            | device_spec.model_dump(include=_DEVICE_FIELDS)
                            | {"reporting": device_spec.reporting.stored()},
                        )
    session.flush()
    for action, entity, before, row in upsert.changes:
        record(
            session,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=row.id,
            before=before,
            after=snapshot(row),
        )
    session.flush()
    return upsert.summary


def seed_path() -> Path:
    """The shipped seed register: the Yonghua and Minzhi civic centers and the staff dormitory."""
    return Path(__file__).with_name("seed") / "tainan.yaml"
