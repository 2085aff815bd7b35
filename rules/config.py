"""Rule definitions in YAML, validated with errors that name the rule and the field.

A rules file has named `schedules` (shared by rules) and `rules`; each rule has a `kind` that selects its
fields. `load_rules` returns validated definitions whose `to_rule()` gives the engine's pure rule object.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from cityhall.contract import QUANTITIES
from cityhall.models import DeviceKind, Severity, SpaceKind
from rules.engine import Rule, ThresholdRule
from rules.kinds import (
    AfterHoursRule,
    BaselineRule,
    ComfortRule,
    DriftRule,
    FlatlineRule,
    LeakRule,
    OfflineRule,
    OpenWhileCoolingRule,
    RateOfChangeRule,
    RuntimeRule,
)
from rules.schedule import DayType, Period, Schedule

DEFAULTS = Path(__file__).with_name("defaults.yaml")
_WEEK_S = 7 * 24 * 3600


class RuleConfigError(ValueError):
    """A rules file that cannot be used; the message names the file, rule and field.

    `loc` is the path of the field in the document (the kind tag dropped), e.g. ("rules", 3, "above_pct").
    """

    def __init__(self, message: str, loc: tuple[int | str, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PeriodSpec(_Strict):
    """One period of a schedule, in local time; `to` of 24:00 (or 00:00) means midnight."""

    days: DayType = DayType.ALL
    start: time = Field(alias="from")
    end: str = Field(alias="to", pattern=r"^([01]\d|2[0-4]):[0-5]\d$")

    def to_period(self) -> Period:
        """The engine's period."""
        hour, minute = (int(p) for p in self.end.split(":"))
        return Period(self.days, self.start, time(0) if hour == 24 else time(hour, minute))


class ScheduleSpec(_Strict):
    """A named schedule: one period inline (`days`, `from`, `to`) or a list of `periods`."""

    timezone: str = "Asia/Taipei"
    days: DayType | None = None
    start: time | None = Field(None, alias="from")
    end: str | None = Field(None, alias="to")
    periods: list[PeriodSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        inline = self.start is not None or self.end is not None or self.days is not None
        if inline and self.periods:
            raise ValueError("give either `from`/`to`/`days` or `periods`, not both")
        if inline:
            if self.start is None or self.end is None:
                raise ValueError("a schedule needs both `from` and `to`")
            period = {"days": self.days or DayType.ALL, "from": self.start, "to": self.end}
            self.periods = [PeriodSpec.model_validate(period)]
        if not self.periods:
            raise ValueError("a schedule needs `from` and `to`, or `periods`")
        return self

    def to_schedule(self, name: str) -> Schedule:
        """The engine's schedule."""
        return Schedule(name, tuple(p.to_period() for p in self.periods), ZoneInfo(self.timezone))


class Targets(_Strict):
    """Which devices a rule watches; every given filter must match."""

    devices: list[str] = Field(default_factory=list, description="Device codes")
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    space_kinds: list[SpaceKind] = Field(default_factory=list)
    buildings: list[str] = Field(default_factory=list, description="Building codes")
    serves: str | None = Field(None, description="Only devices whose `serves` matches, e.g. 'whole building'")


def _check_quantity(value: str) -> str:
    if value not in QUANTITIES:
        raise ValueError(f"unknown quantity {value!r}; known: {', '.join(sorted(QUANTITIES))}")
    return value


class RuleDefinition(_Strict):
    """Fields every rule kind has."""

    uses_schedule: ClassVar[bool] = False

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=3, max_length=200)
    kind: str
    quantity: str = "power_kw"
    for_seconds: float = Field(0, ge=0, le=_WEEK_S)
    clear_for_seconds: float = Field(0, ge=0, le=_WEEK_S)
    severity: Severity = Severity.MEDIUM
    enabled: bool = True
    targets: Targets
    _schedule: Schedule | None = PrivateAttr(None)
    _timers: tuple[Schedule, ...] = PrivateAttr(())

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, value: str) -> str:
        return _check_quantity(value)

    @model_validator(mode="after")
    def _some_targets(self) -> Self:
        t = self.targets
        if not (t.devices or t.device_kinds or t.buildings or t.space_kinds):
            raise ValueError("targets must name devices, device_kinds, space_kinds or buildings")
        return self

    @property
    def schedule_name(self) -> str | None:
        """The named schedule the rule refers to, if any."""
        return None

    @property
    def timer_names(self) -> tuple[str, ...]:
        """Named schedules of declared timers the rule allows beside its schedule, if any."""
        return ()

    def bind(self, schedules: dict[str, Schedule]) -> None:
        """Resolve the named schedules (the rules file has checked that they exist)."""
        name = self.schedule_name
        self._schedule = schedules[name] if name is not None else None
        self._timers = tuple(schedules[t] for t in self.timer_names)

    def to_rule(self) -> Rule:
        """The engine's view of this definition."""
        raise NotImplementedError

    def _common(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "severity": self.severity,
            "quantity": self.quantity,
            "for_s": self.for_seconds,
            "clear_for_s": self.clear_for_seconds,
        }


class ThresholdDefinition(RuleDefinition):
    """`threshold`: above/below a limit for a minimum duration, with hysteresis on clearing."""

    kind: Literal["threshold"]
    above: float | None = None
    below: float | None = None
    clear_below: float | None = None
    clear_above: float | None = None

    @model_validator(mode="after")
    def _consistent_limits(self) -> Self:
        if self.above is None and self.below is None:
            raise ValueError("a threshold rule needs `above`, `below` or both")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError(f"`below` ({self.below}) must be less than `above` ({self.above})")
        if self.clear_below is not None and (self.above is None or self.clear_below > self.above):
            raise ValueError("`clear_below` needs `above` and must not exceed it")
        if self.clear_above is not None and (self.below is None or self.clear_above < self.below):
            raise ValueError("`clear_above` needs `below` and must not be less than it")
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
            clear_for_s=self.clear_for_seconds,
            clear_below=self.clear_below,
            clear_above=self.clear_above,
        )


class AfterHoursDefinition(RuleDefinition):
    """`after_hours`: consumption outside a schedule above a share of the in-schedule mean."""

    kind: Literal["after_hours"]
    schedule: str
    above_pct: float = Field(50, gt=0, le=1000)
    min_value: float = Field(0, ge=0, le=1e9)
    baseline_days: float = Field(7, gt=0, le=60)
    # Declared timers (facade lighting, security lighting, a night ventilation programme): schedules in which
    # the load is expected out of hours too; their readings are normal, and they do not feed the baseline.
    timers: list[str] = Field(default_factory=list, max_length=10)

    @property
    def schedule_name(self) -> str | None:
        """The occupied schedule."""
        return self.schedule

    @property
    def timer_names(self) -> tuple[str, ...]:
        """The declared timers."""
        return tuple(self.timers)

    def to_rule(self) -> AfterHoursRule:
        """The engine's view of this definition."""
        timers = None
        if self._timers:
            periods = tuple(p for t in self._timers for p in t.periods)
            timers = Schedule("+".join(t.name for t in self._timers), periods)
        return AfterHoursRule(
            **self._common(),
            schedule=self._schedule,
            above_pct=self.above_pct,
            min_value=self.min_value,
            baseline_s=self.baseline_days * 86400,
            timers=timers,
        )


class BaselineDefinition(RuleDefinition):
    """`baseline`: deviation from the same hour in past weeks (k sigma and a percentage)."""

    kind: Literal["baseline"]
    weeks: int = Field(3, ge=1, le=12)
    profile: Literal["hour_of_week", "day_type"] = "day_type"
    k_sigma: float = Field(3, gt=0)
    pct: float = Field(20, ge=0)
    min_delta: float = Field(0, ge=0)
    min_history: int = Field(3, ge=1)
    direction: Literal["above", "below", "both"] = "above"

    def to_rule(self) -> BaselineRule:
        """The engine's view of this definition."""
        return BaselineRule(
            **self._common(),
            weeks=self.weeks,
            profile=self.profile,
            k_sigma=self.k_sigma,
            pct=self.pct,
            min_delta=self.min_delta,
            min_history=self.min_history,
            direction=self.direction,
        )


class LeakDefinition(RuleDefinition):
    """`leak`: night flow never drops under its quarter hour's usual level (or zero, before it is known)."""

    kind: Literal["leak"]
    quantity: str = "flow_m3h"
    night_from: time = time(0)
    night_to: time = time(6)
    zero_below: float = Field(0.01, ge=0, le=10_000)
    samples: int = Field(24, ge=1, le=100_000)
    nights: int = Field(7, ge=1, le=56)
    min_nights: int = Field(3, ge=1, le=56)
    k_sigma: float = Field(3, ge=0, le=100)
    pct: float = Field(50, ge=0, le=10_000)
    chance: float = Field(0.001, gt=0, lt=1)
    # A meter that reports this register is judged on the flow it shows (every litre between two
    # readings), not on its flow of the moment; null reads the flow alone.
    register_quantity: str | None = "volume_m3"

    @field_validator("register_quantity")
    @classmethod
    def _known_register(cls, value: str | None) -> str | None:
        return None if value is None else _check_quantity(value)

    @model_validator(mode="after")
    def _night(self) -> Self:
        if self.night_from == self.night_to:
            raise ValueError("`night_from` and `night_to` must differ")
        if self.min_nights > self.nights:
            raise ValueError("`min_nights` cannot be more than `nights`")
        return self

    def to_rule(self) -> LeakRule:
        """The engine's view of this definition."""
        return LeakRule(
            **self._common(),
            night_from=self.night_from,
            night_to=self.night_to,
            zero_below=self.zero_below,
            samples=self.samples,
            nights=self.nights,
            min_nights=self.min_nights,
            k_sigma=self.k_sigma,
            pct=self.pct,
            chance=self.chance,
            register=self.register_quantity,
        )


class OfflineDefinition(RuleDefinition):
    """`offline`: no readings for N reporting intervals; a silent building raises one gateway alarm."""

    kind: Literal["offline"]
    quantity: str = "power_kw"  # unused: every device is judged on its first quantity
    missed_intervals: float = Field(1, gt=0, le=1000)
    grace_seconds: float = Field(60, ge=0, le=_WEEK_S)
    default_interval_seconds: float = Field(60, gt=0, le=_WEEK_S)
    on_change_default_seconds: float = Field(3600, gt=0, le=_WEEK_S)
    lookback_hours: float = Field(6, gt=0, le=168)

    def to_rule(self) -> OfflineRule:
        """The engine's view of this definition."""
        return OfflineRule(
            **self._common(),
            missed_intervals=self.missed_intervals,
            grace_s=self.grace_seconds,
            default_interval_s=self.default_interval_seconds,
            on_change_default_s=self.on_change_default_seconds,
            lookback_s=self.lookback_hours * 3600,
        )


class FlatlineDefinition(RuleDefinition):
    """`flatline`: spread below epsilon over N readings."""

    kind: Literal["flatline"]
    samples: int = Field(4, ge=2, le=10_000)
    epsilon: float = Field(1e-6, gt=0)
    ignore_value: float | None = 0.0
    # For devices that round or report on change (their register's reporting): how long one quantity may
    # repeat before it is stuck, and how many whole messages repeated make a hung device.
    quantised_for_seconds: float = Field(6 * 3600, gt=0, le=_WEEK_S)
    message_samples: int = Field(8, ge=2, le=10_000)
    # How many days of the device's habits (its longest whole-message hold) a repeat is weighed against.
    memory_days: int = Field(7, ge=1, le=28)

    def to_rule(self) -> FlatlineRule:
        """The engine's view of this definition."""
        return FlatlineRule(
            **self._common(),
            samples=self.samples,
            epsilon=self.epsilon,
            ignore_value=self.ignore_value,
            quantised_for_s=self.quantised_for_seconds,
            message_samples=self.message_samples,
            memory_days=self.memory_days,
        )


class RateOfChangeDefinition(RuleDefinition):
    """`rate_of_change`: a spike or jump between consecutive readings."""

    kind: Literal["rate_of_change"]
    max_rise: float | None = Field(None, ge=0)
    max_fall: float | None = Field(None, ge=0)
    max_gap_seconds: float = Field(3600, gt=0)

    @model_validator(mode="after")
    def _a_limit(self) -> Self:
        if self.max_rise is None and self.max_fall is None:
            raise ValueError("a rate_of_change rule needs `max_rise`, `max_fall` or both")
        return self

    def to_rule(self) -> RateOfChangeRule:
        """The engine's view of this definition."""
        return RateOfChangeRule(
            **self._common(), max_rise=self.max_rise, max_fall=self.max_fall, max_gap_s=self.max_gap_seconds
        )


class ComfortDefinition(RuleDefinition):
    """`comfort`: temperature beyond a limit while the space is occupied."""

    kind: Literal["comfort"]
    quantity: str = "temperature_c"
    above: float | None = None
    below: float | None = None
    schedule: str | None = None
    min_people: float = Field(1, ge=0, le=100_000)
    cooled_only: bool = False
    while_cooling: bool = False

    @model_validator(mode="after")
    def _a_limit(self) -> Self:
        if self.above is None and self.below is None:
            raise ValueError("a comfort rule needs `above` or `below`")
        return self

    @property
    def schedule_name(self) -> str | None:
        """The occupied schedule, if any."""
        return self.schedule

    def to_rule(self) -> ComfortRule:
        """The engine's view of this definition."""
        return ComfortRule(
            **self._common(),
            above=self.above,
            below=self.below,
            schedule=self._schedule,
            min_people=self.min_people,
            cooled_only=self.cooled_only,
            while_cooling=self.while_cooling,
        )


class OpenWhileCoolingDefinition(RuleDefinition):
    """`open_while_cooling`: a contact open while an air-conditioner in the same space runs."""

    kind: Literal["open_while_cooling"]
    quantity: str = "open_state"

    def to_rule(self) -> OpenWhileCoolingRule:
        """The engine's view of this definition."""
        return OpenWhileCoolingRule(**self._common())


class RuntimeDefinition(RuleDefinition):
    """`runtime`: run hours over a period reach a preventive-maintenance interval."""

    kind: Literal["runtime"]
    quantity: str = "on_state"
    hours: float = Field(gt=0)
    lookback_days: float = Field(30, gt=0, le=366)

    def to_rule(self) -> RuntimeRule:
        """The engine's view of this definition."""
        return RuntimeRule(**self._common(), hours=self.hours, lookback_s=self.lookback_days * 86400)


class DriftDefinition(RuleDefinition):
    """`drift`: a sensor's offset from its neighbours (same building and kind of space) creeps away."""

    kind: Literal["drift"]
    quantity: str = "temperature_c"
    days: int = Field(7, ge=2, le=28)
    recent_hours: float = Field(24, ge=1, le=168)
    min_delta: float = Field(1.5, gt=0, le=10_000)
    k_sigma: float = Field(3, ge=0, le=100)
    min_peers: int = Field(2, ge=1, le=1000)
    min_days: int = Field(2, ge=1, le=28)
    clear_share: float = Field(0.7, gt=0, le=1)
    # Quarter hours count where the neighbours agree within this share of `min_delta` (or as well as
    # in the best quarter of the lookback); a day counts with `min_hours` of them.
    agree_share: float = Field(0.5, gt=0, le=100)
    min_hours: float = Field(2, gt=0, le=24)

    @model_validator(mode="after")
    def _enough_days(self) -> Self:
        if self.min_days > self.days:
            raise ValueError("`min_days` cannot be more than `days`")
        if self.min_hours > self.recent_hours:
            raise ValueError("`min_hours` cannot be more than `recent_hours`")
        return self

    def to_rule(self) -> DriftRule:
        """The engine's view of this definition."""
        return DriftRule(
            **self._common(),
            days=self.days,
            recent_s=self.recent_hours * 3600,
            min_delta=self.min_delta,
            k_sigma=self.k_sigma,
            min_peers=self.min_peers,
            min_days=self.min_days,
            clear_share=self.clear_share,
            agree_share=self.agree_share,
            min_hours=self.min_hours,
        )


AnyDefinition = Annotated[
    ThresholdDefinition
    | AfterHoursDefinition
    | BaselineDefinition
    | LeakDefinition
    | OfflineDefinition
    | FlatlineDefinition
    | RateOfChangeDefinition
    | ComfortDefinition
    | OpenWhileCoolingDefinition
    | RuntimeDefinition
    | DriftDefinition,
    Field(discriminator="kind"),
]
KINDS = (
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
    "drift",
)


class RuleFile(_Strict):
    """A rules YAML document: named schedules and rules."""

    schedules: dict[str, ScheduleSpec] = Field(default_factory=dict)
    rules: list[AnyDefinition]

    @model_validator(mode="after")
    def _unique_keys_and_known_schedules(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.key in seen:
                raise ValueError(f"duplicate rule key {rule.key!r}")
            seen.add(rule.key)
            names = [n for n in (rule.schedule_name, *rule.timer_names) if n is not None]
            for name in names:
                if name not in self.schedules:
                    known = ", ".join(sorted(self.schedules)) or "none"
                    raise ValueError(f"rule {rule.key!r}: unknown schedule {name!r}; known: {known}")
                if rule.kind == "after_hours":
                    _on_quarter_hours(rule.key, name, self.schedules[name])
        return self


def _on_quarter_hours(key: str, name: str, schedule: ScheduleSpec) -> None:
    """An after-hours rule reads quarter-hour summaries (`rules.summary`): each must be all in or all out of
    its schedule, so the schedule's periods start and end on quarter hours."""
    for period in schedule.periods:
        for bound in (period.start.strftime("%H:%M:%S"), f"{period.end}:00"):
            minute, second = (int(p) for p in bound.split(":")[1:])
            if minute % 15 or second:
                raise ValueError(
                    f"rule {key!r}: schedule {name!r} changes at {bound[:5]}; an after_hours rule needs "
                    "schedules that start and end on quarter hours (:00, :15, :30 or :45)"
                )


def _loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic location without the discriminator's kind tag: ("rules", 3, "above_pct")."""
    return tuple(p for i, p in enumerate(loc) if not (i == 2 and loc[0] == "rules" and p in KINDS))


def _where(doc: object, loc: tuple[int | str, ...]) -> str:
    """`rules.3.above_pct [rule after-hours-ac]` from a location."""
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(doc, dict):
        rules = doc.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            where += f" [rule {rules[loc[1]].get('key', '?')}]"
    return where


def parse_rules(doc: object, source: str = "<rules>") -> list[RuleDefinition]:
    """Validate a parsed rules document; raise RuleConfigError naming the source, rule and field."""
    try:
        parsed = RuleFile.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        loc = _loc(tuple(first["loc"]))
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")  # the rule's kind is what is wrong, not the rule
        raise RuleConfigError(f"{source}: {_where(doc, loc)}: {first['msg']}", loc) from err
    schedules = {name: spec.to_schedule(name) for name, spec in parsed.schedules.items()}
    for rule in parsed.rules:
        rule.bind(schedules)
    return list(parsed.rules)


def load_document(path: Path | None = None) -> dict[str, Any]:
    """A rules file as parsed YAML (the shipped defaults when no path is given), not yet validated."""
    path = path or DEFAULTS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise RuleConfigError(f"{path}: {err}") from err
    if not isinstance(doc, dict):
        raise RuleConfigError(f"{path}: expected a mapping with `schedules` and `rules`")
    return doc


def load_rules(path: Path | None = None) -> list[RuleDefinition]:
    """Load and validate a rules file (the shipped defaults when no path is given)."""
    return parse_rules(load_document(path), str(path or DEFAULTS))
