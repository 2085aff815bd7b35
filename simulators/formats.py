"""What a simulated device puts on the wire: our native JSON, Tasmota telemetry or Shelly Gen2 notifications.

`encode` is on the simulator's hot path (tens of thousands of messages a second), so it builds plain dicts
and calls json.dumps once: no pydantic, no unit-table look-ups. The collector's decoders
(collector/payloads/) accept everything it produces; tests/collector/test_payloads.py holds the round trip.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from cityhall.contract import QUANTITIES, PayloadFormat, encode_native, readings_topic

# Tasmota devices stamp local time; the collector reads it in CITYHALL_COLLECTOR_DEVICE_TIMEZONE (default).
DEFAULT_DEVICE_TZ = ZoneInfo("Asia/Taipei")
_W_PER_KW = 1000.0
_WH_PER_KWH = 1000.0


# Which catalogue quantities each format can carry (Tasmota and Shelly have no field for the others).
SUPPORTED_QUANTITIES: dict[PayloadFormat, frozenset[str]] = {
    PayloadFormat.NATIVE: frozenset(QUANTITIES),
    PayloadFormat.TASMOTA: frozenset({"power_kw", "energy_kwh", "temperature_c", "humidity_pct", "co2_ppm"}),
    PayloadFormat.SHELLY_GEN2: frozenset({"power_kw", "energy_kwh"}),
}


def encode(
    fmt: PayloadFormat,
    *,
    device: str,
    ts: datetime,
    values: dict[str, float],
    prefix: str,
    device_tz: tzinfo = DEFAULT_DEVICE_TZ,
) -> list[tuple[str, bytes]]:
    """(topic, payload) pairs a device of format `fmt` would publish for these catalogue values at `ts`.

    `prefix` is CITYHALL_MQTT_TOPIC_PREFIX (only the native format uses it); `device_tz` is the zone a
    Tasmota device's clock is set to. Raises ValueError for a quantity the format cannot carry.
    """
    if fmt == PayloadFormat.NATIVE:
        return [(readings_topic(prefix, device), encode_native(device, ts, values))]
    unsupported = values.keys() - SUPPORTED_QUANTITIES[fmt]
    if unsupported:
        raise ValueError(
            f"{fmt} payloads cannot carry {', '.join(sorted(unsupported))}; "
            f"they carry {', '.join(sorted(SUPPORTED_QUANTITIES[fmt]))}"
        )
    if fmt == PayloadFormat.TASMOTA:
        return [(f"tele/{device}/SENSOR", _tasmota(ts, values, device_tz))]
    return [(f"{device}/events/rpc", _shelly(device, ts, values))]


def _dumps(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _tasmota(ts: datetime, values: dict[str, float], device_tz: tzinfo) -> bytes:
    local = ts.astimezone(device_tz).replace(tzinfo=None)
    # A real device stamps whole seconds; sub-second times are kept (as milliseconds) so that a simulator
    # sending faster than 1 Hz does not write several samples onto the same stored instant.
    stamp = local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")
    doc: dict[str, object] = {"Time": stamp}
    if "energy_kwh" in values or "power_kw" in values:
        energy: dict[str, float] = {}
        if "energy_kwh" in values:
            energy["Total"] = values["energy_kwh"]  # Tasmota's Total is already kWh
        if "power_kw" in values:
            energy["Power"] = round(values["power_kw"] * _W_PER_KW, 3)
        doc["ENERGY"] = energy
    climate: dict[str, float] = {}
    if "co2_ppm" in values:
        climate["CarbonDioxide"] = values["co2_ppm"]
    if "temperature_c" in values:
        climate["Temperature"] = values["temperature_c"]
    if "humidity_pct" in values:
        climate["Humidity"] = values["humidity_pct"]
    if climate:
        # An SCD30 reports CO2, temperature and humidity together; without CO2 it is an AM2301 probe.
        doc["SCD30" if "co2_ppm" in values else "AM2301"] = climate
        if "temperature_c" in values:
            doc["TempUnit"] = "C"
    return _dumps(doc)


def _shelly(device: str, ts: datetime, values: dict[str, float]) -> bytes:
    params: dict[str, object] = {"ts": round(ts.timestamp(), 3)}
    # Shaped like a Pro 3EM (em:0 + emdata:0), the meter on a three-phase incomer.
    if "power_kw" in values:
        params["em:0"] = {"id": 0, "total_act_power": round(values["power_kw"] * _W_PER_KW, 3)}
    if "energy_kwh" in values:
        params["emdata:0"] = {"id": 0, "total_act": round(values["energy_kwh"] * _WH_PER_KWH, 3)}
    # `src` is the Shelly id on a real device; the simulator has none, and the collector reads the topic.
    return _dumps({"src": device, "dst": f"{device}/events", "method": "NotifyStatus", "params": params})
