"""Rule definitions: the shipped defaults load; bad files are refused naming the rule and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityhall.assets import DEVICE_QUANTITIES, load_yaml, seed_path
from rules.config import RuleConfigError, load_rules, parse_rules
from rules.engine import Subject
from rules.evaluation import bind
from rules.kinds import AfterHoursRule

GOOD = """
rules:
  - key: demand
    name: Demand high
    kind: threshold
    quantity: power_kw
    above: 100
    for_seconds: 60
    targets: {device_kinds: [electricity_meter]}
"""


def test_shipped_defaults_load() -> None:
    rules = load_rules()
    assert {r.key for r in rules} >= {"dorm-demand-high", "office-too-hot"}
    assert all(r.to_rule().threshold is not None for r in rules)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("quantity: power_kw", "quantity: watts"),
            "rules.0.quantity [rule demand]: Value error, unknown quantity 'watts'",
        ),
        (("    above: 100\n", ""), "rules.0 [rule demand]: Value error, a threshold rule needs"),
        (("above: 100", "above: 100\n    below: 200"), "`below` (200.0) must be less than `above` (100.0)"),
        (("electricity_meter", "toaster"), "rules.0.targets.device_kinds.0 [rule demand]: Input should be"),
        (
            ("for_seconds: 60", "for_seconds: -1"),
            "rules.0.for_seconds [rule demand]: Input should be greater than or equal to 0",
        ),
        (
            ("kind: threshold", "kind: magic"),
            "rules.0.kind [rule demand]: Input tag 'magic' found using 'kind'",
        ),
        (
            ("above: 100", "above: 100\n    clear_below: 120"),
            "`clear_below` needs `above` and must not exceed it",
        ),
    ],
)
def test_bad_definitions_name_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(RuleConfigError) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    assert message in str(info.value), str(info.value)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD + GOOD.split("rules:\n", 1)[1])
    with pytest.raises(RuleConfigError, match="duplicate rule key 'demand'"):
        load_rules(path)


def test_every_kind_loads_and_builds(tmp_path: Path) -> None:
    rules = load_rules()
    kinds = {r.kind for r in rules}
    assert kinds >= {
        "threshold",
        "after_hours",
        "baseline",
        "leak",
        "offline",
        "flatline",
        "rate_of_change",
        "comfort",
        "open_while_cooling",
        "runtime",
    }
    for r in rules:
        assert r.to_rule().lookback.total_seconds() > 0


SCHEDULED = """
schedules:
  office-hours: {days: working, from: "08:00", to: "17:30", timezone: Asia/Taipei}
rules:
  - key: lights
    name: Lights after hours
    kind: after_hours
    schedule: office-hours
    above_pct: 40
    targets: {device_kinds: [electricity_meter], serves: lighting}
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("schedule: office-hours", "schedule: night"),
            "rule 'lights': unknown schedule 'night'; known: office-hours",
        ),
        (("timezone: Asia/Taipei", "timezone: Mars/Olympus"), "schedules.office-hours.timezone"),
        (('to: "17:30"', 'to: "25:00"'), "schedules.office-hours.to"),
        (
            ("above_pct: 40", "above_pct: -1"),
            "rules.0.above_pct [rule lights]: Input should be greater than 0",
        ),
        (("days: working", "days: someday"), "schedules.office-hours.days"),
    ],
)
def test_schedule_errors_name_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SCHEDULED.replace(*change))
    with pytest.raises(RuleConfigError) as info:
        load_rules(path)
    assert message in str(info.value), str(info.value)


def test_schedule_is_bound_to_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SCHEDULED)
    (definition,) = load_rules(path)
    rule = definition.to_rule()
    assert rule.schedule is not None  # type: ignore[attr-defined]
    assert rule.schedule.name == "office-hours"  # type: ignore[attr-defined]


def test_office_too_hot_watches_the_civic_centres_cooled_rooms_only() -> None:
    """A dormitory resident at home with the AC off, or a lobby on a hot afternoon, is not a fault for the
    crew: the shipped 24-hour temperature limit binds to the seed register's offices, meeting rooms and
    halls."""
    everyone = [
        Subject(d.code, d.kind.value, b.code, sp.code, sp.kind.value, d.serves, DEVICE_QUANTITIES[d.kind])
        for _site, b, _floor, sp, d in load_yaml(seed_path()).devices()
    ]
    rule = next(d for d in load_rules() if d.key == "office-too-hot")
    assert {s.space_kind for s in bind(rule, everyone).subjects} == {"office", "meeting_room", "hall"}
    sensors = {s.space_kind for s in everyone if s.kind == "climate_sensor"}
    assert {"dormitory_room", "lobby"} <= sensors  # sensors it now leaves to the occupied-comfort rules


def test_after_hours_timers_are_known_schedules_on_quarter_hours() -> None:
    """Declared timers (a facade's 18:00-22:00) are schedules of the file; an unknown one is refused naming
    the rule, and one that does not change on quarter hours as the rule's own schedule would be."""
    rule = {
        "key": "lights",
        "name": "Lights after hours",
        "kind": "after_hours",
        "schedule": "office",
        "timers": ["facade"],
        "targets": {"device_kinds": ["electricity_meter"]},
    }
    schedules = {
        "office": {"days": "working", "from": "08:00", "to": "17:30"},
        "facade": {"days": "all", "from": "18:00", "to": "22:00"},
    }
    (parsed,) = parse_rules({"schedules": schedules, "rules": [rule]})
    bound = parsed.to_rule()
    assert isinstance(bound, AfterHoursRule)
    assert bound.timers is not None
    assert bound.allowed(datetime(2026, 12, 5, 12, 30, tzinfo=UTC))  # Saturday 20:30 in Taipei: the facade
    assert not bound.allowed(datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # Saturday 23:00
    with pytest.raises(RuleConfigError, match="rule 'lights': unknown schedule 'garden'"):
        parse_rules({"schedules": schedules, "rules": [{**rule, "timers": ["garden"]}]})
    odd = {**schedules, "facade": {"days": "all", "from": "18:10", "to": "22:00"}}
    with pytest.raises(RuleConfigError, match="schedule 'facade' changes at 18:10"):
        parse_rules({"schedules": odd, "rules": [rule]})
