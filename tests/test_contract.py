"""The native payload contract: what is accepted, and the reason given for what is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityhall.contract import (
    MAX_FUTURE,
    PayloadError,
    Reading,
    _decode_plain,
    _decode_with_model,
    decode_native,
    encode_native,
)

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


def test_out_of_range_instant_is_a_reason_not_a_crash() -> None:
    # 0001-01-01 at +01:00 is before year 1 in UTC: converting it used to raise OverflowError out of the
    # decoder, which no caller expects (the collector's writer thread died on it).
    for stamp in ("0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00.5+05:30"):
        raw = b'{"device": "A", "ts": "%s", "values": {"power_kw": 1}}' % stamp.encode()
        with pytest.raises(PayloadError, match="ts: Value error, timestamp is out of range"):
            decode_native(raw)


# --- the plain decode path against the model: the same readings, or the model's own reason ---
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STAMPS = [
    "2026-11-26T10:00:00Z",
    "2026-11-26T10:00:00.5Z",
    "2026-11-26T10:00:00.123456Z",
    "2026-11-26T10:00:00.1234567Z",
    "2026-11-26T18:00:00+08:00",
    "2026-11-26T10:00:00+00:00",
    "2026-11-26T10:00:00-00:00",
    "2026-11-26T10:00:00+23:59",
    "2026-11-26T10:00:00+24:00",
    "2026-11-26T10:00:00-09:30",
    "2026-11-26T10:00:00+0800",
    "2026-11-26T10:00:00",
    "2026-11-26T10:00Z",
    "2026-11-26 10:00:00Z",
    "2026-11-26t10:00:00z",
    "2026-11-26",
    "2026-02-30T10:00:00Z",
    "2026-11-26T23:59:60Z",
    "2026-11-26T24:00:00Z",
    "2026-11-26T12:05:00Z",
    "2026-11-26T12:05:00.000001Z",
    "2026-11-26T20:04:59+08:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0000-01-01T00:00:00Z",
    "2026-11-26T10:00:00Z\n",
    "1764151200",
]
DEVICES = ["YH-A-EM-MAIN", "a", "A" * 64, "A" * 65, "A B", "A\n", "", "-A", "A.b_c-1", "\u00c4"]
VALUES = [
    '{"power_kw": 1}',
    '{"power_kw": 1.5, "energy_kwh": 2}',
    '{"power_kw": -10000, "energy_kwh": 1e10}',
    '{"power_kw": 10000.0000001}',
    '{"power_kw": 1e999}',
    '{"power_kw": NaN}',
    '{"power_kw": -Infinity}',
    '{"power_kw": true}',
    '{"power_kw": "1.5"}',
    '{"power_kw": null}',
    '{"power_kw": [1]}',
    '{"power_kw": 100000000000000000000000}',
    '{"watts": 1}',
    '{"power_kw": 1, "watts": 1}',
    '{"power_kw": 1, "power_kw": 2}',
    "{}",
    "[]",
]


def _plain_vs_model_cases() -> list[bytes]:
    base = {"device": '"YH-A-EM-MAIN"', "ts": '"2026-11-26T10:00:00Z"', "values": '{"power_kw": 1}'}

    def doc(**fields: str) -> bytes:
        return ("{" + ", ".join(f'"{k}": {v}' for k, v in {**base, **fields}.items()) + "}").encode()

    cases = [doc(ts=json.dumps(s)) for s in STAMPS]
    cases += [doc(device=json.dumps(d)) for d in DEVICES]
    cases += [doc(values=v) for v in VALUES]
    cases += [doc(ts="1764151200"), doc(device="1"), doc(values='"x"'), doc(extra="1")]
    cases += [b'{"device": "A", "device": "B", "ts": "2026-11-26T10:00:00Z", "values": {"power_kw": 1}}']
    cases += [b'{"device": "A", "ts": "2026-11-26T10:00:00Z"}', b"[]", b'"x"', b"not json", b"\xff\xfe", b""]
    return cases


@pytest.mark.parametrize("raw", _plain_vs_model_cases())
def test_plain_path_agrees_with_the_model(raw: bytes) -> None:
    """Whatever the plain path accepts, the model accepts with the same readings; the rest is the model's."""
    plain = _decode_plain(raw, NOW + MAX_FUTURE)
    try:
        expected: list[Reading] | str = _decode_with_model(raw, NOW)
    except PayloadError as err:
        expected = err.reason
    if plain is not None:
        assert plain == expected
        assert all(r.ts.tzinfo is UTC for r in plain)
    try:
        got: list[Reading] | str = decode_native(raw, now=NOW)
    except PayloadError as err:
        got = err.reason
    assert got == expected


def test_plain_path_takes_what_devices_send() -> None:
    """The payloads encode_native writes (what simulators and the docs show) never need the model."""
    for ts in (NOW - timedelta(days=400), NOW, NOW + timedelta(minutes=4)):
        raw = encode_native("YH-A-EM-MAIN", ts, {"power_kw": 12.5, "energy_kwh": 7})
        assert _decode_plain(raw, NOW + MAX_FUTURE) == _decode_with_model(raw, NOW)
    assert _decode_plain(b'{"device":"A","ts":"2026-11-26T18:00:00+08:00","values":{"co2_ppm":400}}', NOW)
