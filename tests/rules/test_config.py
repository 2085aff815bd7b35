"""Rule definitions: the shipped defaults load; bad files are refused naming the rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.config import RuleConfigError, load_rules

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
            "rules.0.quantity: Value error, unknown quantity 'watts'",
        ),
        (("    above: 100\n", ""), "rules.0: Value error, a threshold rule needs"),
        (("above: 100", "above: 100\n    below: 200"), "`below` (200.0) must be less than `above` (100.0)"),
        (("electricity_meter", "toaster"), "rules.0.targets.device_kinds.0: Input should be"),
        (
            ("for_seconds: 60", "for_seconds: -1"),
            "rules.0.for_seconds: Input should be greater than or equal to 0",
        ),
        (("kind: threshold", "kind: magic"), "rules.0.kind: Input should be 'threshold'"),
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
