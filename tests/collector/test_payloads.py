"""Device families on the wire: Tasmota and Shelly Gen2 payloads decode to catalogue readings, bad ones are
refused with a reason naming the field, the simulators' encoders round-trip, and the unit table converts."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import QUANTITIES, PayloadError, PayloadFormat, Reading
from cityhall.models import ReadingRow
from cityhall.settings import COLLECTOR_FORMATS, Settings
from cityhall.timeseries.sql import SqlStore
from cityhall.units import CONVERSIONS, UnitError, from_catalogue, to_catalogue
from collector.payloads import DecoderRegistry, default_registry, registry_for
from collector.payloads.shelly import ShellyGen2Decoder
from collector.payloads.tasmota import TasmotaDecoder
from collector.service import Collector
from simulators.formats import SUPPORTED_QUANTITIES, encode
from tests import servers
from tests.publishing import publish
from tests.waiting import PATIENCE_S, wait_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads"
PREFIX = "cityhall/v1"
TAIPEI = ZoneInfo("Asia/Taipei")
# 2026-11-26T10:00:00 in Taipei: the instant the fixtures were captured.
FIXTURE_TS = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 26, 2, 0, 30, tzinfo=UTC)  # the collector's clock for untimed Shelly status


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _registry() -> DecoderRegistry:
    """All formats, with the Shelly decoder's clock frozen so untimed status topics get a known time."""
    return DecoderRegistry(
        (
            *default_registry(PREFIX, formats=["native"]).decoders,
            TasmotaDecoder(device_tz=TAIPEI),
            ShellyGen2Decoder(clock=lambda: RECEIVED),
        )
    )


def _values(readings: list[Reading]) -> dict[str, float]:
    return {r.quantity: r.value for r in readings}


# --- units ---


@pytest.mark.parametrize(
    ("quantity", "value", "unit", "expected"),
    [
        ("power_kw", 850.0, "W", 0.85),
        ("power_kw", 42.5, "kW", 42.5),
        ("power_kw", 1.2, "MW", 1200.0),
        ("power_kw", -3500.0, "W", -3.5),  # export keeps its sign
        ("energy_kwh", 8305018.54, "Wh", 8305.01854),
        ("energy_kwh", 2.5, "MWh", 2500.0),
        ("volume_m3", 1500.0, "L", 1.5),
        ("flow_m3h", 25.0, "L/min", 1.5),
        ("flow_m3h", 1.0, "L/s", 3.6),
        ("temperature_c", 212.0, "degF", 100.0),
        ("temperature_c", 32.0, "degF", 0.0),
        ("temperature_c", -40.0, "degF", -40.0),  # the scales cross here: a scale-only conversion fails
        ("temperature_c", 77.0, "degF", 25.0),
        ("temperature_c", 298.15, "K", 25.0),
        ("humidity_pct", 0.613, "ratio", 61.3),
        ("co2_ppm", 812.0, "ppm", 812.0),
    ],
)
def test_to_catalogue(quantity: str, value: float, unit: str, expected: float) -> None:
    assert to_catalogue(quantity, value, unit) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("from_unit", "to_unit"), sorted(CONVERSIONS))
def test_every_conversion_targets_a_catalogue_unit_and_inverts(from_unit: str, to_unit: str) -> None:
    quantity = next(q for q in QUANTITIES.values() if q.unit == to_unit)
    for value in (0.0, 1.0, 23.4, 1234.5):
        there = to_catalogue(quantity.key, value, from_unit)
        assert from_catalogue(quantity.key, there, from_unit) == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_conversion_errors_name_the_units() -> None:
    with pytest.raises(
        UnitError, match=r"cannot convert 'degC' into kW for power_kw; known: \['MW', 'W', 'kW'\]"
    ):
        to_catalogue("power_kw", 1.0, "degC")
    with pytest.raises(UnitError, match="unknown quantity 'watts'"):
        to_catalogue("watts", 1.0, "W")


# --- Tasmota ---


@pytest.mark.parametrize(
    ("fixture", "expected", "ts"),
    [
        ("tasmota_energy.json", {"power_kw": 0.85, "energy_kwh": 123.456}, FIXTURE_TS),
        ("tasmota_am2301.json", {"temperature_c": 24.6, "humidity_pct": 61.3}, FIXTURE_TS),
        (
            "tasmota_scd30_fahrenheit.json",
            {"co2_ppm": 812.0, "temperature_c": 25.0, "humidity_pct": 58.2},
            FIXTURE_TS + timedelta(minutes=5),
        ),
        # The ESP32's chip temperature and the ANALOG input are not room readings; the DS18B20 is.
        ("tasmota_esp32_ds18b20.json", {"temperature_c": 23.9}, FIXTURE_TS),
        # Two channels: Power is a list and is summed; Time carries its offset (SetOption52 1).
        ("tasmota_energy_two_channels.json", {"power_kw": 0.425, "energy_kwh": 45.678}, FIXTURE_TS),
    ],
)
def test_tasmota_fixtures(fixture: str, expected: dict[str, float], ts: datetime) -> None:
    readings = _registry().decode("tele/MZ-DORM-EM-MAIN/SENSOR", _fixture(fixture))
    assert _values(readings) == pytest.approx(expected, rel=1e-12)
    assert {(r.device, r.ts) for r in readings} == {("MZ-DORM-EM-MAIN", ts)}


def test_tasmota_time_is_read_in_the_configured_zone() -> None:
    payload = _fixture("tasmota_energy.json")  # "Time":"2026-11-26T10:00:00", no offset
    utc_devices = registry_for(Settings(collector_device_timezone="UTC"))
    (reading, *_) = utc_devices.decode("tele/MZ-DORM-EM-MAIN/SENSOR", payload)
    assert reading.ts == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    (reading, *_) = registry_for(Settings()).decode("tele/MZ-DORM-EM-MAIN/SENSOR", payload)
    assert reading.ts == FIXTURE_TS  # default Asia/Taipei: 10:00 local is 02:00 UTC


# --- Shelly Gen2 ---


@pytest.mark.parametrize(
    ("topic", "fixture", "expected", "ts"),
    [
        ("YH-A-EM-MAIN/status/em:0", "shelly_em_status.json", {"power_kw": 37.366}, RECEIVED),
        ("YH-A-EM-MAIN/status/emdata:0", "shelly_emdata_status.json", {"energy_kwh": 8305.01854}, RECEIVED),
        (
            "YH-A-1F-EM-LT/status/pm1:0",
            "shelly_pm1_status.json",
            {"power_kw": 0.0986, "energy_kwh": 12.345678},
            RECEIVED,
        ),
        # The relay's own temperature.tC is not a room temperature and is not read.
        (
            "YH-A-1F-EM-01/status/switch:0",
            "shelly_switch_status.json",
            {"power_kw": 1.5203, "energy_kwh": 45.210512},
            RECEIVED,
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            "shelly_notify_status.json",
            {"power_kw": 37.366},
            datetime(2026, 11, 26, 2, 0, 0, 120000, tzinfo=UTC),
        ),
        # Full status: sys, wifi, the board's temperature:0 and the rest are ignored; em:0 and emdata:0 read.
        (
            "YH-A-EM-MAIN/events/rpc",
            "shelly_notify_full_status.json",
            {"power_kw": 37.366, "energy_kwh": 8305.01854},
            FIXTURE_TS,
        ),
    ],
)
def test_shelly_fixtures(topic: str, fixture: str, expected: dict[str, float], ts: datetime) -> None:
    readings = _registry().decode(topic, _fixture(fixture))
    assert _values(readings) == pytest.approx(expected, rel=1e-12)
    device = topic.split("/", maxsplit=1)[0]  # the MQTT prefix, not the frame's src (the Shelly id)
    assert {(r.device, r.ts) for r in readings} == {(device, ts)}


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("YH-A-1F-AC-01/events/rpc", _fixture("shelly_notify_event.json")),  # a button press
        ("YH-A-EM-MAIN/status/sys", b'{"mac":"0CB815FCAFF4","uptime":864211,"unixtime":1795658400}'),
        ("YH-A-EM-MAIN/status/em1:1", b'{"id":1,"act_power":501.8}'),  # a second channel: not this meter
        ("YH-A-B1-DC-SUB/status/switch:0", b'{"id":0,"source":"button","output":false}'),  # Plus 1, unmetered
        # A NotifyStatus carries only what changed; a voltage drift is no reading of ours.
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"shellypro3em-0cb815fcaff4","dst":"YH-A-EM-MAIN/events","method":"NotifyStatus",'
            b'"params":{"ts":1795658400.5,"em:0":{"id":0,"a_voltage":231.2}}}',
        ),
    ],
)
def test_shelly_routine_traffic_gives_no_readings(topic: str, payload: bytes) -> None:
    assert _registry().decode(topic, payload) == []


# --- bad payloads ---

_NOW_LOCAL = datetime.now(TAIPEI).replace(tzinfo=None, microsecond=0)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":{"Total":1.5,"Power":"abc"}}',
            "ENERGY.Power: expected a number, got 'abc'",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":{"Power":true}}',
            "ENERGY.Power: expected a number, got True",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":{"Power":NaN}}',
            "ENERGY.Power: expected a finite number, got nan",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":{"Power":[120,"x"]}}',
            "ENERGY.Power[1]: expected a number, got 'x'",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":"off"}',
            "ENERGY: expected an object, got 'off'",
        ),
        (
            "tele/YH-A-1F-CS-01/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","AM2301":{"Temperature":24.6,"Humidity":null},"TempUnit":"C"}',
            "AM2301.Humidity: expected a number, got None",
        ),
        (
            "tele/YH-A-1F-CS-01/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","AM2301":{"Temperature":24.6},"TempUnit":"K"}',
            "TempUnit: expected 'C' or 'F', got 'K'",
        ),
        (
            "tele/YH-A-1F-CS-01/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","AM2301":{"Temperature":24.6},"DS18B20":{"Temperature":23.9}}',
            "DS18B20.Temperature: temperature_c is also given by AM2301.Temperature",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","Switch1":"ON","ANALOG":{"A0":512}}',
            "SENSOR: none of ENERGY.Power, ENERGY.Total or a sensor's",
        ),
        ("tele/MZ-DORM-EM-MAIN/SENSOR", b'{"ENERGY":{"Power":850}}', "Time: expected local time"),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"yesterday","ENERGY":{"Power":850}}',
            "Time: expected local time like '2026-11-26T10:00:00', got 'yesterday'",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"1970-01-01T00:02:13","ENERGY":{"Power":850}}',
            "Time: '1970-01-01T00:02:13' is before 2020; the device clock is not set",
        ),
        (  # before year 1 in UTC: converting it raised OverflowError, which stopped the collector's writer
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"0001-01-01T00:00:00","ENERGY":{"Power":850}}',
            "Time: '0001-01-01T00:00:00' is out of range (years 1 to 9999 in UTC)",
        ),
        (
            "cityhall/v1/readings/MZ-DORM-EM-MAIN",
            b'{"device":"MZ-DORM-EM-MAIN","ts":"0001-01-01T00:00:00+08:00","values":{"power_kw":1}}',
            "ts: Value error, timestamp is out of range (years 1 to 9999 in UTC)",
        ),
        pytest.param(
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            json.dumps(
                {"Time": (_NOW_LOCAL + timedelta(hours=1)).isoformat(), "ENERGY": {"Power": 850}}
            ).encode(),
            "ts: ",  # an hour ahead: the same 5-minute rule as native payloads
            # A fixed name: the payload holds the clock, and every test process must collect the same ids.
            id="tasmota-time-an-hour-ahead",
        ),
        (
            "tele/YH-A-1F-CS-01/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","AM2301":{"Temperature":24.6,"Humidity":140.0},"TempUnit":"C"}',
            "values.humidity_pct: humidity_pct=140.0 % is outside 0.0..100.0",
        ),
        (
            "tele/MZ-DORM-EM-MAIN/SENSOR",
            b'{"Time":"2026-11-26T10:00:00","ENERGY":{"Power":12000000}}',
            "values.power_kw: power_kw=12000.0 kW is outside -10000.0..10000.0",
        ),
        ("tele/MZ-DORM-EM-MAIN/SENSOR", b"{not json", "payload: Invalid JSON"),
        ("tele/MZ-DORM-EM-MAIN/SENSOR", b"[850]", "payload: expected a JSON object, got list"),
        ("tele/tasmota 5A9AE8/SENSOR", b'{"Time":"2026-11-26T10:00:00"}', "topic: 'tasmota 5A9AE8' is not"),
        (
            "YH-A-EM-MAIN/status/em:0",
            b'{"id":0,"total_act_power":"abc"}',
            "em:0.total_act_power: expected a number, got 'abc'",
        ),
        ("YH-A-EM-MAIN/status/emdata:0", b'{"id":0,"a_total_act_energy":1.0}', "emdata:0: none of total_act"),
        ("YH-A-EM-MAIN/status/em:0", b'"em"', "payload: expected a JSON object, got str"),
        (
            "YH-A-1F-EM-01/status/switch:0",
            b'{"id":0,"apower":12.5,"aenergy":{"total":"lots"}}',
            "switch:0.aenergy.total: expected a number, got 'lots'",
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"s","method":"NotifyStatus","params":{"ts":1795658400,"em:0":{"total_act_power":[1]}}}',
            "params.em:0.total_act_power: expected a number, got [1]",
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"s","method":"NotifyStatus","params":{"ts":1795658400,"emdata:0":7}}',
            "params.emdata:0: expected an object, got 7",
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"s","method":"NotifyStatus","params":[]}',
            "params: expected an object, got []",
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"s","method":"NotifyStatus","params":{"ts":"now","em:0":{"total_act_power":1}}}',
            "params.ts: expected a number, got 'now'",
        ),
        (
            "YH-A-EM-MAIN/events/rpc",
            b'{"src":"s","method":"NotifyStatus","params":{"ts":12.5,"em:0":{"total_act_power":1}}}',
            "params.ts: 12.5 is before 2020",
        ),
    ],
)
def test_bad_payloads_name_the_field(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        _registry().decode(topic, payload)
    assert caught.value.reason.startswith(reason), caught.value.reason


# --- encode -> decode round trips ---

TYPICAL = {
    "power_kw": 42.513,
    "energy_kwh": 123456.789,
    "volume_m3": 5321.1234,
    "flow_m3h": 1.2345,
    "temperature_c": 25.37,
    "humidity_pct": 61.3,
    "co2_ppm": 812.0,
    "occupancy_count": 57.0,
    "setpoint_c": 26.0,
    "on_state": 1.0,
    "open_state": 0.0,
}


def _round_trip_cases() -> Iterator[tuple[PayloadFormat, dict[str, float]]]:
    for fmt in PayloadFormat:
        supported = sorted(SUPPORTED_QUANTITIES[fmt])
        for key in supported:
            yield fmt, {key: TYPICAL[key]}
        yield fmt, {key: TYPICAL[key] for key in supported}


@pytest.mark.parametrize(("fmt", "values"), list(_round_trip_cases()))
@pytest.mark.parametrize("microsecond", [0, 250_000])
def test_encode_decode_round_trip(fmt: PayloadFormat, values: dict[str, float], microsecond: int) -> None:
    ts = datetime(2026, 11, 26, 2, 0, 0, microsecond, tzinfo=UTC)
    messages = encode(fmt, device="MZ-DORM-EM-MAIN", ts=ts, values=values, prefix=PREFIX)
    readings = [r for topic, payload in messages for r in _registry().decode(topic, payload)]
    assert {(r.device, r.ts) for r in readings} == {("MZ-DORM-EM-MAIN", ts)}
    assert _values(readings) == pytest.approx(values, rel=1e-9)
    assert len(readings) == len(values)


def test_negative_power_and_a_zero_register_round_trip() -> None:
    ts = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    values = {"power_kw": -3.25, "energy_kwh": 0.0}  # a solar inverter exporting, a meter just installed
    for fmt in (PayloadFormat.TASMOTA, PayloadFormat.SHELLY_GEN2):
        ((topic, payload),) = encode(fmt, device="MZ-PV-01", ts=ts, values=values, prefix=PREFIX)
        assert _values(_registry().decode(topic, payload)) == values


def test_encode_refuses_quantities_the_format_cannot_carry() -> None:
    ts = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="shelly_gen2 payloads cannot carry co2_ppm; they carry energy_kwh"):
        encode(PayloadFormat.SHELLY_GEN2, device="X", ts=ts, values={"co2_ppm": 500.0}, prefix=PREFIX)
    with pytest.raises(ValueError, match="tasmota payloads cannot carry flow_m3h"):
        encode(PayloadFormat.TASMOTA, device="X", ts=ts, values={"flow_m3h": 1.0}, prefix=PREFIX)


def test_encoded_payloads_look_like_the_devices() -> None:
    ts = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    values = {"power_kw": 0.85, "energy_kwh": 123.456}
    ((topic, payload),) = encode(PayloadFormat.TASMOTA, device="D1", ts=ts, values=values, prefix=PREFIX)
    assert topic == "tele/D1/SENSOR"
    assert json.loads(payload) == {
        "Time": "2026-11-26T10:00:00",
        "ENERGY": {"Total": 123.456, "Power": 850.0},
    }
    ((topic, payload),) = encode(PayloadFormat.SHELLY_GEN2, device="D1", ts=ts, values=values, prefix=PREFIX)
    assert topic == "D1/events/rpc"
    frame = json.loads(payload)
    assert frame["method"] == "NotifyStatus"
    assert frame["params"] == {
        "ts": ts.timestamp(),
        "em:0": {"id": 0, "total_act_power": 850.0},
        "emdata:0": {"id": 0, "total_act": 123456.0},
    }


# --- registry and settings ---


def test_format_names_agree_everywhere() -> None:
    assert {str(f) for f in PayloadFormat} == set(COLLECTOR_FORMATS)
    assert {d.name for d in default_registry(PREFIX).decoders} == set(COLLECTOR_FORMATS)


@pytest.mark.parametrize(
    ("formats", "subscriptions"),
    [
        (
            "native,tasmota,shelly_gen2",
            ("cityhall/v1/readings/+", "tele/+/SENSOR", "+/events/rpc", "+/status/+"),
        ),
        ("native", ("cityhall/v1/readings/+",)),
        (" tasmota , native,tasmota", ("cityhall/v1/readings/+", "tele/+/SENSOR")),  # decoder order, deduped
    ],
)
def test_formats_setting_selects_decoders_and_subscriptions(
    formats: str, subscriptions: tuple[str, ...]
) -> None:
    assert registry_for(Settings(collector_formats=formats)).subscriptions == subscriptions


def test_a_disabled_format_is_not_decoded() -> None:
    registry = registry_for(Settings(collector_formats="native"))
    with pytest.raises(PayloadError, match="no decoder for topic 'tele/MZ-DORM-EM-MAIN/SENSOR'"):
        registry.decode("tele/MZ-DORM-EM-MAIN/SENSOR", _fixture("tasmota_energy.json"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("collector_formats", "native,zigbee", "unknown format(s) ['zigbee']"),
        ("collector_formats", " , ", "unknown format(s)"),
        ("collector_device_timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_format_settings_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(
        ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        Settings.model_validate({field: value})


def test_range_check_applies_to_every_decoder() -> None:
    """A decoder that forgot the catalogue still cannot store an out-of-range or non-finite value."""

    class Sloppy:
        name: str = "sloppy"
        subscriptions: tuple[str, ...] = ("sloppy/+",)
        reports_all_quantities: bool = False

        def matches(self, topic: str) -> bool:
            return topic.startswith("sloppy/")

        def decode(self, topic: str, payload: bytes) -> list[Reading]:
            return [Reading("D", "co2_ppm", FIXTURE_TS, float(payload))]

    registry = DecoderRegistry((Sloppy(),))
    assert registry.decode("sloppy/D", b"800")[0].value == 800.0
    for bad in (b"-1", b"nan", b"inf", b"1e6"):
        with pytest.raises(
            PayloadError, match=r"^values\.co2_ppm: co2_ppm=.* ppm is outside 0\.0\.\.10000\.0"
        ):
            registry.decode("sloppy/D", bad)
    assert math.isnan(float(b"nan"))


# --- end to end: a real Mosquitto, the collector and the SQL store ---


def test_tasmota_and_shelly_meters_reach_the_readings_table(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = Settings(
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_client_id=f"test-formats-{id(factory)}",
        data_dir=tmp_path,
    )
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    sent = {
        ("MZ-DORM-EM-MAIN", PayloadFormat.TASMOTA): {"power_kw": 42.5, "energy_kwh": 123456.7},
        ("YH-A-EM-MAIN", PayloadFormat.SHELLY_GEN2): {"power_kw": 812.25, "energy_kwh": 98765.432},
    }
    messages = [
        message
        for (device, fmt), values in sent.items()
        for message in encode(fmt, device=device, ts=ts, values=values, prefix=settings.mqtt_topic_prefix)
    ]
    collector = Collector(settings, store=SqlStore(factory.kw["bind"]), session_factory=factory)
    collector.start()
    assert collector.wait_connected(PATIENCE_S)
    try:
        publish(mosquitto.host, mosquitto.port, messages, client_id="test-formats-publisher")

        def stored() -> list[ReadingRow] | None:
            with factory() as session:
                rows = list(
                    session.scalars(select(ReadingRow).order_by(ReadingRow.device, ReadingRow.quantity))
                )
            return rows if len(rows) == 4 else None

        rows = wait_for(stored, what="4 readings from one Tasmota and one Shelly meter")
        assert {(r.device, r.quantity, r.ts) for r in rows} == {
            (device, quantity, ts) for (device, _), values in sent.items() for quantity in values
        }
        got = {(r.device, r.quantity): r.value for r in rows}
        expected = {(device, q): v for (device, _), values in sent.items() for q, v in values.items()}
        assert got == pytest.approx(expected, rel=1e-9)
    finally:
        collector.stop()
