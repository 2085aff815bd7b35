"""The native payload contract: what is accepted, and the reason given for what is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityhall.contract import PayloadError, decode_native, encode_native

FIXTURES = Path(__file__).parent / "fixtures" / "payloads"


def test_decode_fixture_payload() -> None:
    readings = decode_native((FIXTURES / "native_meter.json").read_bytes())
    assert {(r.quantity, r.value) for r in readings} == {("power_kw", 42.5), ("energy_kwh", 123456.7)}
    assert readings[0].device == "MZ-DORM-EM-MAIN"
    assert readings[0].ts == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # +08:00 normalised to UTC


def test_encode_round_trip() -> None:
    ts = datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)
    raw = encode_native("YH-A-EM-MAIN", ts, {"power_kw": 812.25})
    assert json.loads(raw)["ts"] == "2026-11-26T10:00:00.123Z"
    (reading,) = decode_native(raw)
    assert (reading.device, reading.quantity, reading.ts, reading.value) == (
        "YH-A-EM-MAIN",
        "power_kw",
        ts,
        812.25,
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "payload: Invalid JSON"),
        (
            b'{"device": "A", "ts": "2026-11-26T10:00:00", "values": {"power_kw": 1}}',
            "ts: Value error, timestamp needs",
        ),
        (
            b'{"device": "A", "ts": "2026-11-26T10:00:00Z", "values": {"watts": 1}}',
            "values: Value error, unknown quantity 'watts'",
        ),
        (
            b'{"device": "A", "ts": "2026-11-26T10:00:00Z", "values": {"humidity_pct": 140}}',
            "humidity_pct=140.0 % is outside",
        ),
        (b'{"device": "A", "ts": "2026-11-26T10:00:00Z", "values": {}}', "values: "),
        (
            b'{"device": "A B", "ts": "2026-11-26T10:00:00Z", "values": {"power_kw": 1}}',
            "device: Value error",
        ),
        (
            b'{"device": "A", "ts": "2026-11-26T10:00:00Z", "values": {"power_kw": 1}, "x": 1}',
            "x: Extra inputs",
        ),
        (b'{"ts": "2026-11-26T10:00:00Z", "values": {"power_kw": 1}}', "device: Field required"),
    ],
)
def test_bad_payloads_name_the_field(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_native(payload)
    assert info.value.reason.startswith(reason) or reason in info.value.reason, info.value.reason


def test_future_timestamp_is_refused() -> None:
    raw = encode_native("A", datetime.now(UTC) + timedelta(hours=1), {"power_kw": 1.0})
    with pytest.raises(PayloadError, match="future"):
        decode_native(raw)


def test_nan_is_refused() -> None:
    with pytest.raises(PayloadError, match="outside"):
        decode_native(b'{"device": "A", "ts": "2026-11-26T10:00:00Z", "values": {"power_kw": NaN}}')
