"""Pure plumbing between rules and devices: which devices a rule watches, their peers, one cycle's findings.

Shared by the live runner and by replays (backtest, detection bench), so both judge exactly alike.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from rules.batch import BREACH, NONE, NORMAL, STATUSES, Frame, Verdicts, judge_frame
from rules.config import RuleDefinition, Targets
from rules.engine import Finding, Rule, Status, Subject, Window
from rules.kinds import PEER_SUMMARISED, SUMMARISED, UNIT_STATE, ComfortRule, DriftRule, OfflineRule
from rules.summary import Sealed

GATEWAY_SERVES = "whole building"

_INF = math.inf  # sorts after any value: bisect by time on (time, value) pairs


def matches(targets: Targets, subject: Subject) -> bool:
    """True when a device passes every filter a rule's targets give."""
    return (
        (not targets.devices or subject.code in targets.devices)
        and (not targets.device_kinds or subject.kind in targets.device_kinds)
        and (not targets.space_kinds or subject.space_kind in targets.space_kinds)
        and (not targets.buildings or subject.building in targets.buildings)
        and (targets.serves is None or subject.serves == targets.serves)
    )


@dataclass(frozen=True, slots=True)
class Watch:
    """A rule bound to its devices: the quantity read from each, and each device's peers."""

    definition: RuleDefinition
    rule: Rule
    subjects: tuple[Subject, ...]
    quantity: dict[str, str]  # device code -> quantity read
    peers: dict[str, tuple[tuple[str, str], ...]]  # device code -> ((peer code, peer quantity), ...)
    index: dict[str, Subject] = field(default_factory=dict)  # device code -> subject
    # device code -> the rule as it applies to that device, where its reporting makes it differ
    variants: dict[str, Rule] = field(default_factory=dict)

    def rule_for(self, code: str) -> Rule:
        """The rule as it judges this device."""
        return self.variants.get(code, self.rule)

    @property
    def lookback(self) -> timedelta:
        """The history the rule needs for the device that needs the most."""
        return max([self.rule.lookback, *(r.lookback for r in self.variants.values())])

    def queries(self) -> dict[str, list[str]]:
        """quantity -> device codes: one store query per (rule, quantity) covers every device and peer."""
        out: dict[str, set[str]] = {}
        for code, quantity in self.quantity.items():
            out.setdefault(quantity, set()).add(code)
        for pairs in self.peers.values():
            for code, quantity in pairs:
                out.setdefault(quantity, set()).add(code)
        return {q: sorted(codes) for q, codes in out.items()}


def bind(definition: RuleDefinition, subjects: Sequence[Subject]) -> Watch:
    """The devices a rule watches (they must measure what it reads) and their peers (same space; same
    building for a drift rule)."""
    rule = definition.to_rule()
    by_space: dict[str, list[Subject]] = {}
    by_building: dict[str, list[Subject]] = {}
    for s in subjects:
        by_space.setdefault(s.space, []).append(s)
        by_building.setdefault(s.building, []).append(s)
    # Peers come from the device's space, or its building for the kinds that compare neighbours.
    pool = by_building if rule.peers_in_building else by_space
    chosen: list[Subject] = []
    quantity: dict[str, str] = {}
    peers: dict[str, tuple[tuple[str, str], ...]] = {}
    variants: dict[str, Rule] = {}
    alike: dict[Rule, Rule] = {}
    for s in subjects:
        if not matches(definition.targets, s):
            continue
        q = rule.quantity_for(s)
        mates = by_space.get(s.space, [])
        if q is None or (isinstance(rule, ComfortRule) and not rule.applies_to(s, mates)):
            continue
        chosen.append(s)
        quantity[s.code] = q
        mine = s.building if pool is by_building else s.space
        found = [(c.code, pq) for c in pool.get(mine, []) if c.code != s.code and (pq := rule.peer_of(s, c))]
        peers[s.code] = tuple([(s.code, cq) for cq in rule.companions(s)] + found)
        variant = rule.specialise(s)
        if variant != rule:  # one object per distinct variant, so devices judged alike share a frame
            variants[s.code] = alike.setdefault(variant, variant)
    return Watch(definition, rule, tuple(chosen), quantity, peers, {s.code: s for s in chosen}, variants)


Series = Mapping[str, Mapping[str, Window]]  # quantity -> device -> window


def judge_watch(
    watch: Watch,
    series: Series,
    now: datetime,
    *,
    only: Collection[str] | None = None,
    sealed: Mapping[str, Sealed] | None = None,
) -> list[tuple[Subject, Finding]]:
    """Every device's finding for one rule at `now` (or only those in `only`); silent buildings fold into
    one gateway finding. `sealed` (quantity -> device -> cells): the quarter-hour summaries the windows
    start after, for the kinds that read them (`rules.summary`); without, they summarise the windows."""
    out: list[tuple[Subject, Finding]] = []
    chosen = watch.subjects if only is None else [watch.index[c] for c in sorted(only) if c in watch.index]
    for s in chosen:
        rule = watch.rule_for(s.code)
        quantity = watch.quantity[s.code]
        window = series.get(quantity, {}).get(s.code, ())
        if isinstance(rule, PEER_SUMMARISED):  # summaries of its own and of its peers
            pairs = watch.peers[s.code]
            peer_windows = [series.get(q, {}).get(code, ()) for code, q in pairs]
            own = sealed.get(quantity, {}).get(s.code) if sealed is not None else None
            theirs = [sealed.get(q, {}).get(code) for code, q in pairs] if sealed is not None else []
            if isinstance(rule, DriftRule):  # its neighbours first, then the units of its own space
                order = sorted(range(len(pairs)), key=lambda k: pairs[k][1] == UNIT_STATE)
                units = sum(q == UNIT_STATE for _, q in pairs)
                finding = rule.judge(
                    window,
                    now=now,
                    peers=[peer_windows[k] for k in order],
                    sealed=own,
                    peer_sealed=[theirs[k] for k in order] if theirs else [],
                    key=s.code,
                    units=units,
                )
            else:
                finding = rule.judge(window, now=now, peers=peer_windows, sealed=own, peer_sealed=theirs)
        elif isinstance(rule, SUMMARISED):
            cells = sealed.get(quantity, {}).get(s.code) if sealed is not None else None
            finding = rule.judge(window, now=now, sealed=cells)
        else:
            peer_windows = [series.get(q, {}).get(code, ()) for code, q in watch.peers[s.code]]
            finding = rule.judge(window, now=now, peers=peer_windows)
        if finding is not None:
            out.append((s, finding))
    if isinstance(watch.rule, OfflineRule):
        out = fold_silent_buildings(out, watch.subjects)
    return out


def judge_batch(
    watch: Watch,
    frame: Callable[[str], Frame],
    since: datetime,
    now: datetime,
    *,
    only: Collection[str] | None = None,
    alarmed: Collection[str] | None = None,
    sealed: Mapping[str, Sealed] | None = None,
) -> tuple[list[tuple[Subject, Finding]], dict[Status, int]] | None:
    """`judge_watch`'s findings, judged over each quantity's frame at once (`rules.batch`).

    With `alarmed` (the devices with an active alarm of this rule), only the findings that can change an
    alarm are built: every breach, and normal where an alarm is active; the others are counted by status.
    None when this rule must be judged device by device.
    """
    chosen = watch.subjects if only is None else [watch.index[c] for c in sorted(only) if c in watch.index]
    # Devices judged alike in one frame each: by the quantity read and the rule as it applies to them.
    groups: dict[tuple[str, int], tuple[Rule, list[str], list[int]]] = {}
    if not watch.variants and len(set(watch.quantity.values())) == 1:  # the usual case: no grouping
        quantity = next(iter(watch.quantity.values()))
        groups[(quantity, 0)] = (watch.rule, [s.code for s in chosen], list(range(len(chosen))))
    else:
        for position, s in enumerate(chosen):
            rule = watch.rule_for(s.code)
            _, codes, positions = groups.setdefault((watch.quantity[s.code], id(rule)), (rule, [], []))
            codes.append(s.code)
            positions.append(position)
    picked: list[tuple[int, Verdicts, int]] = []  # (position in chosen, verdicts, segment)
    quiet: dict[Status, int] = {}
    for (quantity, _), (rule, codes, positions) in groups.items():
        cells = sealed.get(quantity) if sealed is not None else None
        verdicts = judge_frame(rule, frame(quantity), codes, since=since, now=now, sealed=cells)
        if verdicts is None:
            return None
        status = verdicts.status
        wanted = status != NONE
        if alarmed is not None:
            active = np.zeros(len(status), np.bool_)
            if alarmed:
                where = {c: k for k, c in enumerate(verdicts.ragged.codes)}
                active[[where[c] for c in alarmed if c in where]] = True
            wanted &= (status == BREACH) | ((status == NORMAL) & active)
            counts = np.bincount(status[(status != NONE) & ~wanted], minlength=len(STATUSES))
            for code, count in enumerate(counts.tolist()):
                if count:
                    quiet[STATUSES[code]] = quiet.get(STATUSES[code], 0) + count
        at = verdicts.ragged.picked
        picked.extend((positions[int(at[k])], verdicts, k) for k in np.flatnonzero(wanted).tolist())
    picked.sort(key=lambda item: item[0])
    out: list[tuple[Subject, Finding]] = []
    for position, verdicts, k in picked:
        finding = verdicts.finding(k)
        if finding is not None:
            out.append((chosen[position], finding))
    if isinstance(watch.rule, OfflineRule):
        out = fold_silent_buildings(out, watch.subjects)
    return out, quiet


def gateway_of(members: Iterable[Subject]) -> Subject:
    """The device that stands for a building's gateway: its whole-building meter, else its first device."""
    ordered = sorted(
        members, key=lambda s: (s.serves != GATEWAY_SERVES, s.kind != "electricity_meter", s.code)
    )
    return ordered[0]


def fold_silent_buildings(
    findings: list[tuple[Subject, Finding]], subjects: Sequence[Subject]
) -> list[tuple[Subject, Finding]]:
    """When every watched device of a building (at least two) is silent, keep one finding for the building."""
    watched: dict[str, int] = {}
    for s in subjects:
        watched[s.building] = watched.get(s.building, 0) + 1
    silent: dict[str, list[tuple[Subject, Finding]]] = {}
    for s, f in findings:
        if f.status is Status.BREACH:
            silent.setdefault(s.building, []).append((s, f))
    folded = {b for b, items in silent.items() if len(items) == watched[b] and len(items) >= 2}
    out = [(s, f) for s, f in findings if s.building not in folded]
    for building in sorted(folded):
        items = silent[building]
        gateway = gateway_of(s for s, _ in items)
        since = min(f.since for _, f in items)
        latest = max(f.latest for _, f in items)
        detail = (
            f"all {len(items)} devices of building {building} are silent since {since.isoformat()}: gateway?"
        )
        out.append((gateway, Finding(Status.BREACH, since, float(len(items)), latest, detail)))
    return out


def slice_window(window: Window, since: datetime, until: datetime) -> Window:
    """The part of an oldest-first window within [since, until] (the window itself when it all is)."""
    if not window or (window[0][0] >= since and window[-1][0] <= until):
        return window
    lo = bisect.bisect_left(window, (since,))
    hi = bisect.bisect_right(window, (until, _INF))
    return window[lo:hi]


@dataclass(frozen=True, slots=True)
class Episode:
    """One alarm a replay would have raised: (rule, device) from raise to clear."""

    rule: str
    device: str
    building: str
    raised_at: datetime  # the simulated clock when the rule fired
    since: datetime  # when the condition began, per the rule
    cleared_at: datetime | None  # when readings returned to normal (None: still active at the end)
    value: float
    message: str

    def as_json(self) -> dict[str, object]:
        """A JSON-lines record."""
        return {
            "rule": self.rule,
            "device": self.device,
            "building": self.building,
            "start": self.raised_at.isoformat(),
            "since": self.since.isoformat(),
            "end": self.cleared_at.isoformat() if self.cleared_at else None,
            "value": self.value,
            "message": self.message,
        }


@dataclass(slots=True)
class AlarmBook:
    """In-memory alarm states for replays: the same raise/clear decisions the runner makes, no database."""

    active: dict[tuple[str, str], Episode] = field(default_factory=dict)
    closed: list[Episode] = field(default_factory=list)

    def apply(self, watch: Watch, findings: Sequence[tuple[Subject, Finding]], now: datetime) -> None:
        """Raise on BREACH unless active; clear on NORMAL."""
        key_rule = watch.definition.key
        for subject, finding in findings:
            key = (key_rule, subject.code)
            if finding.status is Status.BREACH and key not in self.active:
                message = watch.rule_for(subject.code).explain(finding)
                self.active[key] = Episode(
                    key_rule, subject.code, subject.building, now, finding.since, None, finding.value, message
                )
            elif finding.status is Status.NORMAL and key in self.active:
                episode = self.active.pop(key)
                self.closed.append(
                    Episode(
                        episode.rule,
                        episode.device,
                        episode.building,
                        episode.raised_at,
                        episode.since,
                        finding.since,
                        episode.value,
                        episode.message,
                    )
                )

    def episodes(self) -> list[Episode]:
        """Every episode, closed and still active, by raise time."""
        return sorted([*self.closed, *self.active.values()], key=lambda e: (e.raised_at, e.rule, e.device))
