"""The collector against a real Mosquitto: bad input becomes dead letters, and an outage loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import encode_native, readings_topic
from cityhall.db import transaction
from cityhall.models import DeadLetter, DeadLetterCategory, Device, DeviceKind, ReadingRow
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore
from collector.service import Collector
from tests import servers
from tests.publishing import publish, publish_series
from tests.waiting import PATIENCE_S, wait_for

METER = "MZ-DORM-EM-MAIN"


def _settings(broker: servers.MosquittoServer, client_id: str) -> Settings:
    return Settings(mqtt_host=broker.host, mqtt_port=broker.port, mqtt_client_id=client_id)


def test_bad_payloads_are_dead_lettered_and_ingestion_continues(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session]
) -> None:
    settings = _settings(mosquitto, f"test-collector-{id(factory)}")
    store = SqlStore(factory.kw["bind"])
    collector = Collector(settings, store=store, session_factory=factory)
    collector.start()
    assert collector.wait_connected(PATIENCE_S)
    try:
        prefix = settings.mqtt_topic_prefix
        ts = datetime.now(UTC) - timedelta(minutes=1)
        bad = [
            (readings_topic(prefix, METER), b"{not json"),
            (readings_topic(prefix, "NO-SUCH-METER"), encode_native("NO-SUCH-METER", ts, {"power_kw": 1.0})),
            (readings_topic(prefix, METER), encode_native(METER, ts, {"temperature_c": 21.0})),
            (readings_topic(prefix, "YH-A-EM-MAIN"), encode_native(METER, ts, {"power_kw": 1.0})),
            (readings_topic(prefix, METER), encode_native(METER, ts, {"power_kw": 1e9})),
        ]
        good = [
            (
                readings_topic(prefix, METER),
                encode_native(METER, ts + timedelta(seconds=i), {"power_kw": 40.0 + i}),
            )
            for i in range(20)
        ]
        publish(mosquitto.host, mosquitto.port, bad[:3] + good[:10] + bad[3:] + good[10:])

        def counts() -> tuple[int, int] | None:
            with factory() as session:
                readings = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
                letters = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
            return (readings, letters) if (readings, letters) == (20, 5) else None

        wait_for(counts, what="20 readings and 5 dead letters")
        with factory() as session:
            reasons = sorted(session.scalars(select(DeadLetter.reason)))
        assert reasons[0].startswith("device: payload names 'MZ-DORM-EM-MAIN' but topic names 'YH-A-EM-MAIN'")
        assert reasons[1] == "device: unknown device 'NO-SUCH-METER' (register it in the asset register)"
        assert reasons[2].startswith("payload: Invalid JSON")
        assert reasons[3] == f"values.temperature_c: device '{METER}' does not measure temperature_c"
        assert reasons[4].startswith("values: Value error, power_kw=1000000000.0 kW is outside")
    finally:
        collector.stop()


def test_influx_outage_loses_nothing(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session]
) -> None:
    with servers.InfluxServer() as influx:
        influx.create_database("outage")
        store = InfluxStore(influx.url, "outage", timeout_s=2)
        collector = Collector(
            _settings(mosquitto, f"test-outage-{id(factory)}"), store=store, session_factory=factory
        )
        collector.start()
        assert collector.wait_connected(PATIENCE_S)
        try:
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
            points = [(start + timedelta(seconds=i), {"power_kw": float(i)}) for i in range(300)]
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[:100])
            influx.stop()  # InfluxDB goes away mid-stream
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[100:200])
            assert collector.health()["broker"]
            influx.start()
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[200:])

            def count() -> int | None:
                series = store.query('SELECT count("value") FROM "power_kw"')
                n = int(series[0]["values"][0][1]) if series else 0
                return n if n == 300 else None

            wait_for(count, what="all 300 readings after InfluxDB came back")
            values = store.query('SELECT "value" FROM "power_kw"')[0]["values"]
            assert [v for _, v in values] == [float(i) for i in range(300)]  # each once, in time order
        finally:
            collector.stop()
            store.close()


def test_unknown_device_is_quarantined_then_replayed_after_registration(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session]
) -> None:
    settings = _settings(mosquitto, f"test-quarantine-{id(factory)}").model_copy(
        update={"collector_replay_seconds": 0.5}
    )
    collector = Collector(settings, store=SqlStore(factory.kw["bind"]), session_factory=factory)
    collector.start()
    assert collector.wait_connected(PATIENCE_S)
    new_meter = "MZ-DORM-EM-EV"  # an EV charger meter the site team has not registered yet
    try:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        points = [(start + timedelta(minutes=i), {"power_kw": 7.0 + i}) for i in range(3)]
        publish_series(mosquitto.host, mosquitto.port, settings.mqtt_topic_prefix, new_meter, points)

        def quarantined() -> list[DeadLetter] | None:
            with factory() as session:
                rows = list(session.scalars(select(DeadLetter).where(DeadLetter.device == new_meter)))
            return rows if len(rows) == 3 else None

        letters = wait_for(quarantined, what="3 quarantined messages")
        assert {letter.category for letter in letters} == {DeadLetterCategory.UNKNOWN_DEVICE}
        assert all(letter.replayed_at is None for letter in letters)

        with transaction(factory) as session:
            plant_room = session.scalars(select(Device).where(Device.code == METER)).one().space_id
            session.add(
                Device(
                    code=new_meter,
                    name="EV charger meter",
                    kind=DeviceKind.ELECTRICITY_METER,
                    space_id=plant_room,
                    quantities=["power_kw", "energy_kwh"],
                    serves="EV charging",
                )
            )

        def replayed() -> list[float] | None:
            with factory() as session:
                values = list(
                    session.scalars(
                        select(ReadingRow.value).where(ReadingRow.device == new_meter).order_by(ReadingRow.ts)
                    )
                )
            return values if len(values) == 3 else None

        assert wait_for(replayed, what="the quarantined readings replayed") == [7.0, 8.0, 9.0]

        def all_marked() -> bool | None:
            # The readings are stored just before the letters' replayed_at marks commit (a failed write
            # must leave them pending), so under load the marks can trail the readings by a moment.
            with factory() as session:
                pending = session.scalars(select(DeadLetter).where(DeadLetter.replayed_at.is_(None))).all()
            return True if not pending else None

        assert wait_for(all_marked, what="every quarantined message marked replayed")
    finally:
        collector.stop()


def test_family_payloads_keep_only_registered_quantities(factory: sessionmaker[Session]) -> None:
    """A Tasmota plug sends every sensor it has; quantities not registered for the device are dropped,
    while a native payload with an unregistered quantity is refused whole."""
    from cityhall.contract import PayloadFormat  # noqa: PLC0415
    from collector.devices import DeviceDirectory  # noqa: PLC0415
    from collector.mqttwire import Message  # noqa: PLC0415
    from collector.payloads import default_registry  # noqa: PLC0415
    from collector.writer import BatchWriter  # noqa: PLC0415
    from simulators.formats import encode  # noqa: PLC0415

    writer = BatchWriter(
        registry=default_registry("cityhall/v1"),
        devices=DeviceDirectory(factory),
        store=SqlStore(factory.kw["bind"]),
        session_factory=factory,
    )
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    values = {"power_kw": 42.0, "energy_kwh": 1000.0, "temperature_c": 24.5}
    messages = [
        Message(i, 1, topic, payload)
        for fmt in (PayloadFormat.TASMOTA, PayloadFormat.NATIVE)
        for i, (topic, payload) in enumerate(
            encode(fmt, device=METER, ts=ts, values=values, prefix="cityhall/v1")
        )
    ]
    result = writer.triage(messages)
    assert sorted((r.quantity, r.value) for r in result.readings) == [
        ("energy_kwh", 1000.0),
        ("power_kw", 42.0),
    ]
    (letter,) = result.dead_letters
    assert letter.topic == f"cityhall/v1/readings/{METER}"
    assert letter.reason == f"values.temperature_c: device '{METER}' does not measure temperature_c"
