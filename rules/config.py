"""Rule definitions in YAML, validated with errors that name the rule and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cityhall.contract import QUANTITIES
from cityhall.models import DeviceKind, Severity
from rules.engine import ThresholdRule

DEFAULTS = Path(__file__).with_name("defaults.yaml")


class RuleConfigError(ValueError):
    """A rules file that cannot be used; the message names the file, rule and field."""


class Targets(BaseModel):
    """Which devices a rule watches; every given filter must match."""

    model_config = ConfigDict(extra="forbid")

    devices: list[str] = Field(default_factory=list, description="Device codes")
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    buildings: list[str] = Field(default_factory=list, description="Building codes")
    serves: str | None = Field(None, description="Only devices whose `serves` matches, e.g. 'whole building'")


class RuleDefinition(BaseModel):
    """One rule as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=3, max_length=200)
    kind: Literal["threshold"]
    quantity: str
    above: float | None = None
    below: float | None = None
    for_seconds: float = Field(ge=0, le=7 * 24 * 3600)
    severity: Severity = Severity.MEDIUM
    enabled: bool = True
    targets: Targets

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, value: str) -> str:
        if value not in QUANTITIES:
            raise ValueError(f"unknown quantity {value!r}; known: {', '.join(sorted(QUANTITIES))}")
        return value

    @model_validator(mode="after")
    def _consistent_limits(self) -> Self:
        if self.above is None and self.below is None:
            raise ValueError("a threshold rule needs `above`, `below` or both")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError(f"`below` ({self.below}) must be less than `above` ({self.above})")
        if not (self.targets.devices or self.targets.device_kinds or self.targets.buildings):
            raise ValueError("targets must name devices, device_kinds or buildings")
        return self

    def to_rule(self) -> ThresholdRule:
        """The engine's view of this definition."""
        return ThresholdRule(
            key=self.key,
            name=self.name,
            quantity=self.quantity,
            severity=self.severity,
            for_s=self.for_seconds,
            above=self.above,
            below=self.below,
        )


class RuleFile(BaseModel):
    """A rules YAML document."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleDefinition]

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.key in seen:
                raise ValueError(f"duplicate rule key {rule.key!r}")
            seen.add(rule.key)
        return self


def load_rules(path: Path | None = None) -> list[RuleDefinition]:
    """Load and validate a rules file (the shipped defaults when no path is given)."""
    path = path or DEFAULTS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleFile.model_validate(doc).rules
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise RuleConfigError(f"{path}: {loc}: {first['msg']}") from err
    except (OSError, yaml.YAMLError) as err:
        raise RuleConfigError(f"{path}: {err}") from err
