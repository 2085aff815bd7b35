"""GET /alarms/health and its lists on SQLite and PostgreSQL: figures with units and benchmarks, the actions
on bad actors, pagination, roles, and bad input named by field (years 1 and 9999 included, never a 500).

The week is 2026-W49 (Monday 30 November to Monday 7 December 2026, Asia/Taipei), on the shared test site:
- `overheat` (low) on the office climate sensor, Tuesday 09:00:00 and every 20 s after, twelve times, each
  cleared 10 s later with nobody acknowledging: a flood (12 in 09:00-09:10), all chattering, all fleeting;
- `baseload` (high) on the civic main meter, Wednesday 20:00, cleared Thursday 08:00, acknowledged 20:30;
- `dorm-demand` (medium) on the dormitory meter, Thursday 10:00, still active: stale from Friday 10:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.models import Alarm, AlarmState, Severity
from tests.api.api_testdata import AssetIds, AuthFor

TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY = datetime(2026, 11, 30, tzinfo=TAIPEI)
WEEK = {"week": "2026-W49"}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def _alarm(
    device_id: int, rule: str, severity: Severity, raised: datetime, cleared: datetime | None, **kw: Any
) -> Alarm:
    return Alarm(
        rule_key=rule,
        rule_name=rule.title(),
        device_id=device_id,
        state=AlarmState.CLEARED if cleared else AlarmState.ACTIVE,
        severity=severity,
        quantity="power_kw",
        unit="kW",
        threshold=1.0,
        trigger_value=2.0,
        message=rule,
        condition_since=raised,
        raised_at=raised,
        cleared_at=cleared,
        escalation_level=0,
        **kw,
    )


@pytest.fixture
def week(session_factory: sessionmaker[Session], assets: AssetIds) -> AssetIds:
    with transaction(session_factory) as session:
        for k in range(12):
            raised = at(1, 9, 0, 20 * k)
            session.add(
                _alarm(
                    assets.civic_climate_id, "overheat", Severity.LOW, raised, raised + timedelta(seconds=10)
                )
            )
        session.add(
            _alarm(
                assets.civic_meter_id,
                "baseload",
                Severity.HIGH,
                at(2, 20),
                at(3, 8),
                acknowledged_at=at(2, 20, 30),
                acknowledged_by="chen",
            )
        )
        session.add(_alarm(assets.dorm_meter_id, "dorm-demand", Severity.MEDIUM, at(3, 10), None))
    return assets


def _figures(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in body["figures"]}


def test_the_weeks_figures_with_units_and_benchmarks(
    client: TestClient, auth_for: AuthFor, week: AssetIds
) -> None:
    response = client.get("/alarms/health", params=WEEK, headers=auth_for("eric"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {
        "since": "2026-11-30T00:00:00+08:00",
        "until": "2026-12-07T00:00:00+08:00",
        "measured_until": "2026-12-07T00:00:00+08:00",
        "week": "2026-W49",
        "timezone": "Asia/Taipei",
        "days": 7.0,
    }
    assert body["limits"] == {
        "flood_above_per_10min": 10,
        "chatter_count": 3,
        "chatter_window_s": 60.0,
        "fleeting_under_s": 60.0,
        "stale_after_h": 24.0,
        "top": 10,
    }
    figures = _figures(body["scope"])
    values = {k: f["value"] for k, f in figures.items()}
    assert values["alarms_total"] == 14
    assert values["alarms_per_day_avg"] == pytest.approx(2.0)  # 14 / 7
    assert values["alarms_per_day_max"] == 12  # Tuesday
    assert values["alarms_per_10min_avg"] == pytest.approx(14 / 1008)
    assert values["alarms_per_10min_peak"] == 12
    assert values["flood_time_pct"] == pytest.approx(100 / 1008)
    assert values["flood_episodes"] == 1
    assert values["top10_share_pct"] == pytest.approx(100.0)  # three pairs in all
    assert values["chattering_alarms"] == 12
    assert values["fleeting_alarms"] == 12
    assert values["stale_alarms"] == 1
    assert values["stale_max_per_day"] == 1  # Friday, Saturday and Sunday each
    assert values["shelves"] == 0

    peak = figures["alarms_per_10min_peak"]
    assert (peak["unit"], peak["label_zh"], peak["label_en"]) == (
        "alarms/10 min",
        "10 分鐘內最多警報數",
        "Most alarms in one 10 minutes",
    )
    assert peak["benchmark"]["target"] == 10
    assert "ISA-18.2" in peak["benchmark"]["source"]
    assert peak["verdict"] == "misses"
    rate = figures["alarms_per_10min_avg"]
    assert (rate["benchmark"]["acceptable"], rate["benchmark"]["manageable"]) == (1, 2)
    assert "EEMUA 191" in rate["benchmark"]["source"]
    assert rate["verdict"] == "acceptable"
    assert figures["alarms_total"]["benchmark"] is None
    assert all(f["unit"] for f in figures.values())

    assert [d["alarms"] for d in body["scope"]["per_day"]] == [0, 12, 1, 1, 0, 0, 0]
    assert body["scope"]["per_day"][0]["day"] == "2026-11-30"
    shares = {p["severity"]: (p["alarms"], p["recommended_pct"]) for p in body["scope"]["priorities"]}
    assert shares == {"low": (12, 80.0), "medium": (1, 15.0), "high": (1, 5.0), "critical": (0, 1.0)}
    assert "80 %" in body["priority_benchmark"]["text_en"]
    assert [s["site"] for s in body["sites"]] == ["YH"]
    assert body["sites"][0]["site_name"] == "Yonghua Civic Center"
    assert body["lists"]["floods"] == {"total": 1, "href": "/alarms/health/floods?week=2026-W49"}
    assert body["lists"]["bad_actors"]["total"] == 3


def test_bad_actors_carry_their_actions_and_the_shelf_works(
    client: TestClient, auth_for: AuthFor, week: AssetIds
) -> None:
    headers = auth_for("fiona")
    top = client.get("/alarms/health", params=WEEK, headers=headers).json()["scope"]["top_bad_actors"]
    assert [(b["rank"], b["rule_key"], b["alarms"]) for b in top] == [
        (1, "overheat", 12),
        (2, "baseload", 1),  # ties of one: by rule key
        (3, "dorm-demand", 1),
    ]
    first = top[0]
    assert first["share_pct"] == pytest.approx(100 * 12 / 14)
    assert top[1]["cumulative_pct"] == pytest.approx(100 * 13 / 14)
    assert (first["chattering_alarms"], first["fleeting_alarms"]) == (12, 12)
    assert first["device_code"] == "yh-a-101-climate"
    assert first["shelved_until"] is None
    shelve, rule, listing = first["actions"]
    assert (shelve["method"], shelve["href"]) == ("POST", "/alarms/shelves")
    assert (rule["method"], rule["href"]) == ("GET", "/rules/overheat")
    assert listing["href"] == f"/alarms?rule_key=overheat&device_id={week.civic_climate_id}"
    listed = client.get(listing["href"], headers=headers).json()
    assert listed["total"] == 12

    until = datetime.now(UTC) + timedelta(hours=8)
    body = {
        **shelve["body"],
        "until": until.isoformat(),
        "reason": "sensor next to the server rack: moving it",
    }
    made = client.post(shelve["href"], json=body, headers=headers)
    assert made.status_code == 201, made.text
    again = client.get("/alarms/health", params=WEEK, headers=headers).json()["scope"]["top_bad_actors"]
    assert datetime.fromisoformat(again[0]["shelved_until"]) == until
    assert again[1]["shelved_until"] is None
    # The shelf was made this week, so last week's report counts no shelving
    assert (
        _figures(client.get("/alarms/health", params=WEEK, headers=headers).json()["scope"])["shelves"][
            "value"
        ]
        == 0
    )


def test_lists_page_through(client: TestClient, auth_for: AuthFor, week: AssetIds) -> None:
    headers = auth_for("audrey")
    page = client.get("/alarms/health/bad-actors", params={**WEEK, "limit": 1, "offset": 1}, headers=headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)
    assert [b["rule_key"] for b in body["items"]] == ["baseload"]
    assert body["items"][0]["actions"]

    (flood,) = client.get("/alarms/health/floods", params=WEEK, headers=headers).json()["items"]
    assert (flood["start"], flood["end"]) == ("2026-12-01T01:00:00Z", "2026-12-01T01:10:00Z")  # 09:00 Taipei
    assert (flood["alarms"], flood["peak_per_10min"], flood["intervals"]) == (12, 12, 1)
    assert flood["top_contributors"] == [
        {"rule_key": "overheat", "device_code": "yh-a-101-climate", "alarms": 12}
    ]

    (chatter,) = client.get("/alarms/health/chattering", params=WEEK, headers=headers).json()["items"]
    # 20 s apart: 09:00:00, :20, :40 and 09:01:00 are four raises within a minute (first to last 60 s)
    assert (chatter["alarms"], chatter["chattering_alarms"], chatter["max_in_window"]) == (12, 12, 4)
    fleeting = client.get("/alarms/health/fleeting", params={**WEEK, "limit": 5}, headers=headers).json()
    assert (fleeting["total"], len(fleeting["items"]), fleeting["items"][0]["active_s"]) == (12, 5, 10.0)
    (stale,) = client.get("/alarms/health/stale", params=WEEK, headers=headers).json()["items"]
    assert (stale["rule_key"], stale["cleared_at"]) == ("dorm-demand", None)
    assert stale["active_h"] == pytest.approx(86.0)  # Thursday 10:00 to Monday 00:00
    intervals = client.get("/alarms/health/intervals", params=WEEK, headers=headers).json()["items"]
    assert [(i["alarms"], i["flood"]) for i in intervals] == [(12, True), (1, False), (1, False)]
    assert client.get("/alarms/health/shelves", params=WEEK, headers=headers).json()["total"] == 0

    # A 30 s window: twelve raises 20 s apart never make three within it
    narrow = client.get("/alarms/health", params={**WEEK, "chatter_window_s": 30}, headers=headers).json()
    assert _figures(narrow["scope"])["chattering_alarms"]["value"] == 0
    assert narrow["lists"]["chattering"]["href"].endswith("chatter_window_s=30")


def test_a_range_a_site_and_the_default_week(client: TestClient, auth_for: AuthFor, week: AssetIds) -> None:
    headers = auth_for("chen")
    params = {"since": "2026-12-01T09:00:00+08:00", "until": "2026-12-01T09:10:00+08:00", "site": "YH"}
    body = client.get("/alarms/health", params=params, headers=headers).json()
    assert body["period"]["week"] is None
    assert body["sites"] == []
    assert body["scope"]["site"] == "YH"
    figures = _figures(body["scope"])
    assert figures["alarms_total"]["value"] == 12
    assert figures["alarms_per_10min_avg"]["value"] == pytest.approx(12.0)
    assert figures["alarms_per_day_avg"]["value"] == pytest.approx(12 * 144)
    assert figures["flood_time_pct"]["value"] == pytest.approx(100.0)
    assert "since=2026-12-01T09%3A00%3A00%2B08%3A00" in body["lists"]["floods"]["href"]
    assert "site=YH" in body["lists"]["floods"]["href"]

    default = client.get("/alarms/health", headers=headers).json()
    today = datetime.now(TAIPEI).date()
    year, number, _ = (today - timedelta(days=7)).isocalendar()
    assert default["period"]["week"] == f"{year}-W{number:02d}"
    since = datetime.fromisoformat(default["period"]["since"])
    assert since.weekday() == 0
    assert (since.hour, since.minute) == (0, 0)
    assert since.utcoffset() == timedelta(hours=8)


BAD_INPUT = [  # query, the field named, the error type
    ({"week": "2026-49"}, "week", "invalid_week"),
    ({"week": "2026-W60"}, "week", "invalid_week"),
    ({"week": "0001-W01"}, "week", "invalid_week"),
    ({"week": "9999-W52"}, "week", "invalid_week"),
    ({"week": "2026-W49", "since": "2026-11-30T00:00:00+08:00"}, "week", "week_or_range"),
    ({"since": "0001-01-01T00:00:00Z"}, "since", "out_of_range"),
    ({"since": "0001-01-01T00:00:00+08:00"}, "since", "out_of_range"),
    ({"since": "2026-11-30T00:00:00Z", "until": "9999-12-31T23:59:59-12:00"}, "until", "out_of_range"),
    ({"since": "9999-12-31T23:59:59Z"}, "since", "out_of_range"),
    ({"since": "2026-11-30T00:00:00"}, "since", "timezone_aware"),
    ({"since": "yesterday"}, "since", "datetime_from_date_parsing"),
    ({"since": "10000-01-01T00:00:00Z"}, "since", "datetime_from_date_parsing"),
    ({"until": "2026-11-30T00:00:00Z"}, "since", "since_required"),
    ({"since": "2026-12-01T00:00:00Z", "until": "2026-11-30T00:00:00Z"}, "until", "empty_period"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until", "period_too_long"),
    ({"site": "NOPE"}, "site", "unknown_site"),
    ({"site": "X" * 40}, "site", "string_too_long"),
    ({"chatter_window_s": 0}, "chatter_window_s", "greater_than_equal"),
    ({"chatter_window_s": "a minute"}, "chatter_window_s", "int_parsing"),
]


def test_bad_input_names_the_field(client: TestClient, auth_for: AuthFor, assets: AssetIds) -> None:
    """One database for every case (each is a request, not a fixture): 422 naming the field, never a 500."""
    for params, field, kind in BAD_INPUT:
        for path in ("/alarms/health", "/alarms/health/bad-actors"):
            response = client.get(path, params=params, headers=auth_for("fiona"))
            assert response.status_code == 422, (params, path, response.text)
            (detail,) = response.json()["detail"]
            assert (detail["loc"], detail["type"]) == (["query", field], kind), (params, detail)


def test_list_paging_limits_and_roles(client: TestClient, auth_for: AuthFor, assets: AssetIds) -> None:
    bad = client.get("/alarms/health/stale", params={"limit": 0}, headers=auth_for("fiona"))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "limit"]
    assert (
        client.get("/alarms/health", headers=auth_for("sam")).status_code == 403
    )  # staff do not read alarms
    assert client.get("/alarms/health/floods").status_code == 401
    empty = client.get("/alarms/health", params=WEEK, headers=auth_for("ada")).json()
    assert _figures(empty["scope"])["alarms_total"]["value"] == 0
    assert _figures(empty["scope"])["top10_share_pct"]["value"] is None
    assert empty["scope"]["top_bad_actors"] == []


def test_openapi_lists_the_routes_under_alarm_health(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "",
        "/bad-actors",
        "/floods",
        "/chattering",
        "/fleeting",
        "/stale",
        "/shelves",
        "/intervals",
    ):
        assert paths[f"/alarms/health{path}"]["get"]["tags"] == ["alarm health"]
    assert client.get("/alarm-health").headers["content-type"].startswith("text/html")
