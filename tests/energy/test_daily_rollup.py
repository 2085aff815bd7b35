"""The daily register rollup against real InfluxDB: same daily consumption as the readings, idempotent, re-rollable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from cityhall.cli import app
from cityhall.energy.daily import REGISTERS, recent_days, rollup_name, rollup_registers
from cityhall.energy.periods import TAIPEI
from cityhall.timeseries.influx import InfluxStore, quote_ident
from cityhall.timeseries.lineprotocol import epoch_ns
from tests import servers
from tests.energy.conftest import Backfilled


def _daily_use(
    store: InfluxStore, measurement: str, start: datetime, end: datetime
) -> dict[tuple[str, int], float]:
    """The dashboards' daily consumption query, per device and local day."""
    q = (
        f'SELECT non_negative_difference(last("value")) FROM {quote_ident(measurement)} '
        f"WHERE time >= {int(start.timestamp() * 1000)}ms AND time < {int(end.timestamp() * 1000)}ms "
        "GROUP BY time(1d), \"device\" fill(none) tz('Asia/Taipei')"
    )
    return {
        (s["tags"]["device"], t): float(v) for s in store.query(q) for t, v in s["values"] if v is not None
    }


def test_rollup_gives_the_readings_daily_consumption(backfilled: Backfilled) -> None:
    store = backfilled.faulty
    first, last = backfilled.start.astimezone(TAIPEI).date(), backfilled.end.astimezone(TAIPEI).date()
    done: list[int] = []
    written = rollup_registers(store, since=first, until=last + timedelta(days=1), progress=done.append)
    assert sum(done) == 2 * ((last - first).days + 1)  # every day of both registers reported
    for quantity in REGISTERS:
        raw = _daily_use(store, quantity, backfilled.start, backfilled.end + timedelta(days=1))
        rolled = _daily_use(
            store, rollup_name(quantity), backfilled.start, backfilled.end + timedelta(days=1)
        )
        assert raw
        assert rolled == raw, quantity  # resets and rollovers included: the same numbers, not approximately
    # One point per device and local day, at local midnight, holding the day's last reading.
    window = store.window(quantity="energy_kwh", since=backfilled.start, until=backfilled.end)
    device, readings = sorted(window.items())[0]
    day = readings[0][0].astimezone(TAIPEI).date()
    last_of_day = [v for ts, v in readings if ts.astimezone(TAIPEI).date() == day][-1]
    points = store.window(
        quantity="energy_kwh_daily", since=backfilled.start, until=backfilled.end, devices=[device]
    )[device]
    assert points[0] == (datetime(day.year, day.month, day.day, tzinfo=TAIPEI).astimezone(UTC), last_of_day)
    # Idempotent: rolling up again writes the same points and adds none.
    again = rollup_registers(store, since=first, until=last + timedelta(days=1))
    assert again == written
    counts = store.query('SELECT count("value") FROM "energy_kwh_daily" GROUP BY "device"')
    days = (last - first).days + 1
    assert counts
    assert all(s["values"][0][1] <= days for s in counts)


def test_late_readings_are_picked_up_by_a_re_roll(influx: servers.InfluxServer) -> None:
    influx.create_database("rollup_late")
    store = InfluxStore(influx.url, "rollup_late")
    day = date(2026, 10, 5)
    midnight = datetime(2026, 10, 5, tzinfo=TAIPEI)

    def write(hour: int, value: float) -> None:
        ts = epoch_ns(midnight + timedelta(hours=hour))
        store.write_lines(
            f"energy_kwh,building=B,device=M-1,kind=electricity_meter value={value} {ts}\n".encode()
        )

    write(1, 100.0)
    write(12, 110.0)
    assert rollup_registers(store, since=day, until=day + timedelta(days=1)) == 1
    write(23, 125.0)  # drained late from the collector's spool
    rollup_registers(store, since=day, until=day + timedelta(days=1))
    rolled = store.window(quantity="energy_kwh_daily", since=midnight, until=midnight + timedelta(days=1))
    assert rolled == {"M-1": [(midnight.astimezone(UTC), 125.0)]}
    tags = store.query('SHOW TAG KEYS FROM "energy_kwh_daily"')
    assert {v[0] for v in tags[0]["values"]} == {"building", "device", "kind"}
    store.close()


def test_recent_days_cover_today_in_taipei() -> None:
    now = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)  # 01:30 on the 27th in Taipei
    assert recent_days(now, 3) == (date(2026, 11, 25), date(2026, 11, 28))


def test_cli_rebuilds_a_range_and_refuses_bad_dates(
    influx: servers.InfluxServer, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    influx.create_database("rollup_cli")
    store = InfluxStore(influx.url, "rollup_cli")
    for day, value in ((1, 10.0), (2, 14.0), (3, 19.0)):
        ts = epoch_ns(datetime(2026, 9, day, 9, tzinfo=TAIPEI))
        store.write_lines(f"volume_m3,device=W-9,kind=water_meter value={value} {ts}\n".encode())
    monkeypatch.setenv("CITYHALL_INFLUX_URL", influx.url)
    monkeypatch.setenv("CITYHALL_INFLUX_DATABASE", "rollup_cli")
    try:
        result = CliRunner().invoke(
            app, ["energy", "rollup", "--since", "2026-09-01", "--until", "2026-09-02", "--no-progress"]
        )
        assert result.exit_code == 0, result.output
        assert "rolled up 2 days (2026-09-01 to 2026-09-02): 2 daily register points" in result.output
        points = store.window(
            quantity="volume_m3_daily",
            since=datetime(2026, 9, 1, tzinfo=TAIPEI),
            until=datetime(2026, 9, 4, tzinfo=TAIPEI),
        )
        assert [v for _, v in points["W-9"]] == [10.0, 14.0]  # the 3rd is outside the range asked for
        bad = CliRunner().invoke(app, ["energy", "rollup", "--since", "2026-09-31"])
        assert bad.exit_code == 1
        assert "--since: '2026-09-31' is not a date" in bad.output
        backwards = CliRunner().invoke(
            app, ["energy", "rollup", "--since", "2026-09-02", "--until", "2026-09-01"]
        )
        assert "--until: 2026-09-01 is before --since 2026-09-02" in backwards.output
    finally:
        store.close()
