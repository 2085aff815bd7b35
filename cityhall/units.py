"""Unit conversions into the catalogue's units (cityhall.contract.QUANTITIES), as one table of data.

Device families report in their own units (Tasmota power in W, Shelly energy in Wh, a thermometer in degF);
every decoder converts through this table so a number never enters storage in anything but the unit its
quantity key names.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityhall.contract import QUANTITIES


class UnitError(ValueError):
    """A unit the table cannot convert into the quantity's catalogue unit."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """`catalogue = (value + add_before) * multiply / divide`: an affine map from one unit to another.

    Scale is kept as a multiply/divide pair rather than one factor because `W / 1000` is correctly rounded
    while `W * 0.001` is not, and encode -> decode round trips should give back the simulator's numbers.
    """

    from_unit: str
    to_unit: str
    multiply: float = 1.0
    divide: float = 1.0
    add_before: float = 0.0

    def apply(self, value: float) -> float:
        """Convert a value from `from_unit` into `to_unit`."""
        return (value + self.add_before) * self.multiply / self.divide

    def invert(self, value: float) -> float:
        """Convert a value from `to_unit` back into `from_unit` (used by simulators to encode)."""
        return value * self.divide / self.multiply - self.add_before


_US_GALLON_L = 3.785411784  # exact by definition (231 cubic inches)

CONVERSIONS: dict[tuple[str, str], Conversion] = {
    (c.from_unit, c.to_unit): c
    for c in (
        # power -> kW
        Conversion("W", "kW", divide=1000.0),
        Conversion("MW", "kW", multiply=1000.0),
        # energy -> kWh
        Conversion("Wh", "kWh", divide=1000.0),
        Conversion("MWh", "kWh", multiply=1000.0),
        # volume -> m3
        Conversion("L", "m3", divide=1000.0),
        Conversion("gal", "m3", multiply=_US_GALLON_L, divide=1000.0),
        # flow -> m3/h
        Conversion("L/min", "m3/h", multiply=60.0, divide=1000.0),
        Conversion("L/h", "m3/h", divide=1000.0),
        Conversion("L/s", "m3/h", multiply=3600.0, divide=1000.0),
        Conversion("m3/min", "m3/h", multiply=60.0),
        Conversion("gal/min", "m3/h", multiply=_US_GALLON_L * 60.0, divide=1000.0),
        # temperature -> degC: an offset as well as a scale
        Conversion("degF", "degC", multiply=5.0, divide=9.0, add_before=-32.0),
        Conversion("K", "degC", add_before=-273.15),
        # fractions -> %
        Conversion("ratio", "%", multiply=100.0),
    )
}


def _conversion(quantity_key: str, unit: str) -> Conversion | None:
    """The conversion from `unit` into the quantity's unit; None when the unit already is that unit."""
    quantity = QUANTITIES.get(quantity_key)
    if quantity is None:
        raise UnitError(f"unknown quantity {quantity_key!r}; known: {', '.join(sorted(QUANTITIES))}")
    if unit == quantity.unit:
        return None
    conversion = CONVERSIONS.get((unit, quantity.unit))
    if conversion is None:
        known = sorted({quantity.unit} | {f for f, t in CONVERSIONS if t == quantity.unit})
        raise UnitError(f"cannot convert {unit!r} into {quantity.unit} for {quantity_key}; known: {known}")
    return conversion


def to_catalogue(quantity_key: str, value: float, unit: str) -> float:
    """`value` in `unit` in the catalogue unit of `quantity_key`: ("power_kw", 850, "W") -> 0.85."""
    conversion = _conversion(quantity_key, unit)
    return value if conversion is None else conversion.apply(value)


def from_catalogue(quantity_key: str, value: float, unit: str) -> float:
    """The inverse of to_catalogue: a catalogue value expressed in a device's `unit`."""
    conversion = _conversion(quantity_key, unit)
    return value if conversion is None else conversion.invert(value)


# --- amounts entered by people (conservation entries and targets), into an area's unit ---
# Kept apart from CONVERSIONS, whose targets are the sensor catalogue's units: paper has no sensor.
SHEETS_PER_REAM = 500  # 一令 = 500 sheets
REAMS_PER_BOX = 5  # a box (箱) of copier paper holds 5 reams of 500 sheets

AMOUNT_CONVERSIONS: dict[tuple[str, str], Conversion] = {
    (c.from_unit, c.to_unit): c
    for c in (
        Conversion("Wh", "kWh", divide=1000.0),
        Conversion("MWh", "kWh", multiply=1000.0),
        Conversion("L", "m3", divide=1000.0),
        Conversion("kL", "m3"),
        Conversion("sheet", "ream", divide=float(SHEETS_PER_REAM)),
        Conversion("box", "ream", multiply=float(REAMS_PER_BOX)),
    )
}
# Spellings people type for the same unit.
_AMOUNT_ALIASES = {
    "kwh": "kWh",
    "wh": "Wh",
    "mwh": "MWh",
    "m3": "m3",
    "m³": "m3",
    "l": "L",
    "litre": "L",
    "litres": "L",
    "liter": "L",
    "liters": "L",
    "kl": "kL",
    "ream": "ream",
    "reams": "ream",
    "令": "ream",
    "sheet": "sheet",
    "sheets": "sheet",
    "張": "sheet",
    "box": "box",
    "boxes": "box",
    "箱": "box",
}


def amount_units(to_unit: str) -> list[str]:
    """Every unit an amount can be given in to be converted into `to_unit` (itself first)."""
    return [to_unit, *sorted(f for f, t in AMOUNT_CONVERSIONS if t == to_unit)]


def to_amount_unit(value: float, unit: str, to_unit: str) -> float:
    """`value` in `unit` expressed in `to_unit`: (2500, "sheets", "ream") -> 5.0; UnitError otherwise."""
    canonical = _AMOUNT_ALIASES.get(unit.strip().lower(), unit.strip())
    if canonical == to_unit:
        return value
    conversion = AMOUNT_CONVERSIONS.get((canonical, to_unit))
    if conversion is None:
        raise UnitError(f"cannot convert {unit!r} into {to_unit}; known: {amount_units(to_unit)}")
    return conversion.apply(value)
