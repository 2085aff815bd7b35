"""Line-protocol encoding: escaping and exact nanosecond timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from cityhall.contract import Reading
from cityhall.timeseries.lineprotocol import encode, epoch_ns


def test_epoch_ns_is_exact() -> None:
    ts = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)
    assert epoch_ns(ts) == 1_795_687_200_123_456_000


def test_tags_sorted_and_escaped() -> None:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    line = encode(
        [Reading("D-1", "power_kw", ts, 12.5)],
        {"D-1": {"site": "YH", "building": "Hall A,B", "space": "x=y z", "kind": ""}},
    ).decode()
    assert (
        line
        == f"power_kw,building=Hall\\ A\\,B,device=D-1,site=YH,space=x\\=y\\ z value=12.5 {epoch_ns(ts)}\n"
    )


def test_integral_values_are_written_as_floats() -> None:
    line = encode([Reading("D", "occupancy_count", datetime(2026, 1, 1, tzinfo=UTC), 3)], {}).decode()
    assert " value=3.0 " in line
