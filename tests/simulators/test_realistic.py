"""The shipped realistic scenarios: every labelled fault and event shows on the wire where its truth says."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from cityhall.reporting import ReportingMode
from simulators.faults import CATALOGUE, Category, Fault, FaultKind
from simulators.scenario import SCENARIO_DIR
from tests.simulators.conftest import plan_of, wire

REALISTIC = sorted(SCENARIO_DIR.glob("realistic-*.yaml"))
_SILENT = {FaultKind.METER_OFFLINE, FaultKind.DEAD_DEVICE, FaultKind.METER_SWAP}


def test_the_realistic_set_varies_what_the_brief_asks_and_labels_events_as_well_as_faults() -> None:
    assert len(REALISTIC) >= 3
    resolutions, periods, heartbeats, beds = set(), set(), set(), set()
    for path in REALISTIC:
        plan = plan_of(path)
        spec = plan.scenario.spec
        assert spec.reporting is not None
        assert spec.realism is not None
        assert spec.realism.dormitory is not None
        assert spec.duration.days >= 7
        for d in plan.devices:
            if d.kind.value == "climate_sensor":
                resolutions.add(d.reporting.step("temperature_c"))
                periods.add(d.reporting.interval_s)
            if d.kind.value == "contact_sensor":
                assert d.reporting.mode is ReportingMode.ON_CHANGE
                heartbeats.add(d.reporting.interval_s)
        beds.add(spec.realism.dormitory.bed_share)
        categories = {CATALOGUE[f.kind].category for f in plan.faults}
        assert categories == set(Category), path.name  # faults, planned work and harmless events
        assert set(plan.formats.values()) >= {"native"}
    assert resolutions >= {0.01, 0.1, 0.5}
    assert periods >= {60, 300, 900}
    assert heartbeats >= {600, 900, 3600}
    assert min(beds) < 0.6 < max(beds)
    formats = {fmt for path in REALISTIC for fmt in plan_of(path).formats.values()}
    assert formats == {"native", "tasmota", "shelly_gen2"}


Messages = list[tuple[datetime, dict[str, float]]]


def _at(messages: Messages, start: datetime, end: datetime) -> Messages:
    return [(ts, values) for ts, values in messages if start <= ts < end]


@pytest.mark.slow  # eight days of the faulty devices, with and without their faults
@pytest.mark.parametrize("path", REALISTIC, ids=lambda p: p.stem)
def test_every_labelled_entry_shows_on_the_wire_over_its_interval(path: Path) -> None:
    faulty = plan_of(path)
    codes = {f.device.code for f in faulty.faults}
    with_faults = wire(faulty, codes=codes)
    without = wire(plan_of(path, without_faults=True), codes=codes)
    first = {code: min(f.start for f in faulty.faults if f.device.code == code) for code in codes}
    for fault in faulty.faults:
        code = fault.device.code
        _assert_shows(fault, with_faults[code], without[code], first=first[code] == fault.start)


def _assert_shows(fault: Fault, got: Messages, normal: Messages, *, first: bool) -> None:
    where = f"{fault.id} {fault.kind} on {fault.device.code}"
    # Up to its device's first fault, the device sends as without faults (a rollover excepted: it shifts the
    # register for the whole run; a hung device's repeats carry an older stamp).
    if first and fault.kind is not FaultKind.REGISTER_ROLLOVER:
        since = datetime.min.replace(tzinfo=fault.start.tzinfo)
        before = _at(got, since, fault.start)
        unrepeated = [m for i, m in enumerate(before) if i == 0 or m != before[i - 1]]
        assert unrepeated == _at(normal, since, fault.start), where
    inside = _at(got, fault.start, fault.end)
    if fault.kind in _SILENT:
        assert inside == [], where
        return
    if fault.kind is FaultKind.HUNG_DEVICE:
        last = [values for ts, values in got if ts < fault.start][-1]
        assert inside == [], where  # nothing new stamped while it hangs ...
        assert sum(1 for ts, v in got if ts < fault.start and v == last) > 3, where  # ... only repeats
        return
    assert inside, where
    assert inside != _at(normal, fault.start, fault.end), where
    if fault.kind is FaultKind.DOOR_OPEN_WHILE_COOLING:  # held open: people's openings do not show
        assert {v["open_state"] for _, v in inside} == {1.0}, where
