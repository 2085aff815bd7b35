"""The alarm-health report as the API, the page and the CLI give it: the period assessed by
cityhall.alarm_health, and for each bad actor what it would take to act (shelving through
cityhall.maintenance's shelves, the rule through the rules API)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from api.alarms.health.schemas import (
    ActionRead,
    BadActorRead,
    BenchmarkRead,
    DayCountRead,
    FigureRead,
    HealthRead,
    LimitsRead,
    ListLinkRead,
    PeriodRead,
    PriorityRead,
    ScopeRead,
)
from cityhall import alarm_health, maintenance
from cityhall.alarm_health import AlarmHealth, BadActor, HealthLimits, ScopeHealth
from cityhall.db import utcnow

DEFAULT_CHATTER_WINDOW_S = int(HealthLimits().chatter_window.total_seconds())
# The report's lists, by key in `lists` and by path under /alarms/health.
LISTS = {
    "bad_actors": "bad-actors",
    "floods": "floods",
    "chattering": "chattering",
    "fleeting": "fleeting",
    "stale": "stale",
    "shelves": "shelves",
    "intervals": "intervals",
}


def assess(
    session: Session,
    *,
    week: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    site: str | None = None,
    chatter_window_s: int = DEFAULT_CHATTER_WINDOW_S,
    now: datetime | None = None,
    breakdown: bool = True,
) -> AlarmHealth:
    """Assess the period asked for (default: the last full week); InvalidInputError naming the field.
    Without `breakdown` the sites are not assessed one by one (the lists need only the scope)."""
    at = now or utcnow()
    period = alarm_health.resolve_period(now=at, week=week, since=since, until=until)
    limits = HealthLimits(chatter_window=timedelta(seconds=chatter_window_s))
    return alarm_health.assess_stored(
        session, period=period, now=at, site=site, limits=limits, breakdown=breakdown
    )


def query_of(health: AlarmHealth) -> str:
    """The query string that asks for the same report."""
    period = health.period
    params: dict[str, str] = (
        {"week": period.week}
        if period.week
        else {"since": period.since.isoformat(), "until": period.until.isoformat()}
    )
    if health.scope.site is not None:
        params["site"] = health.scope.site
    window_s = int(health.limits.chatter_window.total_seconds())
    if window_s != DEFAULT_CHATTER_WINDOW_S:
        params["chatter_window_s"] = str(window_s)
    return urlencode(params)


def actions(actor: BadActor) -> list[ActionRead]:
    """What a facility manager can do about a bad actor, as API calls."""
    rule = quote(actor.rule_key, safe="")
    return [
        ActionRead(
            method="POST",
            href="/alarms/shelves",
            body={"rule_key": actor.rule_key, "device_id": actor.device_id, "until": None, "reason": None},
            what_zh="擱置此裝置的這項規則警報一段時間（維修期間）",
            what_en="Shelve this rule's alarms on this device for a time (during maintenance)",
        ),
        ActionRead(
            method="GET",
            href=f"/rules/{rule}",
            what_zh="開啟規則以調整門檻或延遲（API 建立的規則以 PUT 修改，其餘修改規則檔）",
            what_en="Open the rule to tune its limit or delay (PUT for rules made through the API; "
            "edit the rules file for the others)",
        ),
        ActionRead(
            method="GET",
            href=f"/alarms?{urlencode({'rule_key': actor.rule_key, 'device_id': actor.device_id})}",
            what_zh="列出這些警報",
            what_en="List these alarms",
        ),
    ]


def bad_actor_read(session: Session, actor: BadActor, *, now: datetime) -> BadActorRead:
    """A bad actor with the shelf in force for its pair now, and its actions."""
    shelf = maintenance.active_shelf(session, rule_key=actor.rule_key, device_id=actor.device_id, now=now)
    read = BadActorRead.model_validate(actor)
    read.shelved_until = shelf.until if shelf is not None else None
    read.actions = actions(actor)
    return read


def scope_read(session: Session, scope: ScopeHealth, *, now: datetime) -> ScopeRead:
    """One scope's figures, days, priorities and top bad actors."""
    t = scope.tally
    return ScopeRead(
        site=scope.site,
        site_name=scope.site_name,
        figures=[FigureRead.model_validate(f) for f in scope.figures],
        per_day=[DayCountRead.model_validate(d) for d in t.per_day],
        priorities=[PriorityRead.model_validate(p) for p in t.priorities],
        top_bad_actors=[bad_actor_read(session, b, now=now) for b in t.bad_actors[: t.top]],
    )


def health_read(session: Session, health: AlarmHealth, *, now: datetime | None = None) -> HealthRead:
    """The whole report: period, limits, the scope, each site and links to the lists."""
    at = now or utcnow()
    t = health.scope.tally
    limits = health.limits
    query = query_of(health)
    totals = {
        "bad_actors": len(t.bad_actors),
        "floods": len(t.floods),
        "chattering": len(t.chattering),
        "fleeting": len(t.fleeting),
        "stale": len(t.stale),
        "shelves": len(t.shelves),
        "intervals": len(t.per_interval),
    }
    return HealthRead(
        period=PeriodRead(
            since=health.period.since,
            until=health.period.until,
            measured_until=health.measured_until.astimezone(health.period.since.tzinfo),
            week=health.period.week,
            days=t.days,
        ),
        limits=LimitsRead(
            flood_above_per_10min=limits.flood_above,
            chatter_count=limits.chatter_count,
            chatter_window_s=limits.chatter_window.total_seconds(),
            fleeting_under_s=limits.fleeting_under.total_seconds(),
            stale_after_h=limits.stale_after.total_seconds() / 3600,
            top=limits.top,
        ),
        scope=scope_read(session, health.scope, now=at),
        sites=[scope_read(session, s, now=at) for s in health.sites],
        priority_benchmark=BenchmarkRead.model_validate(alarm_health.PRIORITY_SHARES),
        lists={
            key: ListLinkRead(total=totals[key], href=f"/alarms/health/{path}?{query}")
            for key, path in LISTS.items()
        },
    )
