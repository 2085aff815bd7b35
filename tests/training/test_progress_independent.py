"""The progress numbers of the API checked against an independent computation from the raw attendance
and xAPI statements the test itself sent (seeded, on SQLite and PostgreSQL): day counting by walking the
calendar, exact fractions, no code shared with cityhall.training."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from fastapi.testclient import TestClient

from tests.api.api_testdata import AuthFor
from tests.training.conftest import PROFILES, Courses, MakeSession, statement

YEAR = 2026
AS_OF = date(2026, 11, 27)
# course -> (share of hours that is digital); from the catalogue fixture
SHARES = {"fire_safety": Fraction(0), "records_visit": Fraction(0), "procurement_basic": Fraction(1, 4)}


def _served_days(joined_on: date, until: date) -> int:
    """Days of YEAR on or after joined_on, up to `until`, counted one by one."""
    day, count = date(YEAR, 1, 1), 0
    while day <= min(until, date(YEAR, 12, 31)):
        count += day >= joined_on
        day += timedelta(days=1)
    return count


def test_progress_matches_an_independent_computation(
    *,
    client: TestClient,
    auth_for: AuthFor,
    staff: dict[str, int],
    courses: Courses,
    make_session: MakeSession,
    elearning_key: dict[str, str],
) -> None:
    rng = random.Random(20261127)  # noqa: S311 - a reproducible scenario, not a secret
    people = list(PROFILES)
    done: dict[str, dict[str, Fraction]] = {n: {"otj": Fraction(0), "dig": Fraction(0)} for n in people}
    officer = auth_for("audrey")

    # Twelve sessions through the year; each person attends some of them for a quarter-hour multiple.
    files: list[tuple[int, str]] = []
    for i in range(12):
        course = rng.choice(list(SHARES))
        start = datetime(YEAR, 1 + i, rng.randint(1, 26), 1, 0, tzinfo=UTC)
        if start.date() > AS_OF:
            start = datetime(YEAR, 11, 2, 1, 0, tzinfo=UTC)
        length_h = rng.choice([2, 3, 4, 6])
        sid = make_session(getattr(courses, course), start, hours=length_h)
        rows = ["username,hours"]
        for name in people:
            if name == "sue" and start.date() < date(YEAR, 7, 1):
                continue  # not yet on the staff
            if rng.random() < 0.6:
                quarters = rng.randint(1, length_h * 4)
                rows.append(f"{name},{quarters / 4}")
                hours = Fraction(quarters, 4)
                done[name]["dig"] += hours * SHARES[course]
                done[name]["otj"] += hours * (1 - SHARES[course])
        files.append((sid, "\n".join(rows) + "\n"))
    # Digital learning from the e-learning platform, one activity per statement.
    statements = []
    for n, name in enumerate(people):
        for k in range(rng.randint(0, 4)):
            minutes = rng.choice([15, 30, 45, 50, 90])
            day = date(YEAR, rng.randint(1, 10), rng.randint(1, 28))
            statements.append(
                statement(
                    email=f"{name}@tainan.gov.tw",
                    activity=f"https://elearning.example.gov.tw/a/{n}-{k}",
                    duration=f"PT{minutes}M",
                    timestamp=f"{day.isoformat()}T14:00:00+08:00",
                )
            )
            done[name]["dig"] += Fraction(minutes, 60)

    for _replay in range(2):  # everything twice: the second time changes nothing
        for sid, text in files:
            resp = client.post(
                f"/training/sessions/{sid}/attendance.csv",
                content=text.encode(),
                headers={**officer, "Content-Type": "text/csv"},
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["errors"] == []
        resp = client.post("/training/xapi/statements", json=statements, headers=elearning_key)
        assert resp.status_code == 200, resp.text

    got = client.get(
        "/training/progress", params={"year": YEAR, "as_of": AS_OF.isoformat()}, headers=officer
    ).json()
    by_name = {p["username"]: p for p in got}
    assert set(by_name) == set(people)

    year_days = (date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days
    dept: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for name in people:
        joined = max(PROFILES[name][1], date(YEAR, 1, 1))
        served = _served_days(joined, date(YEAR, 12, 31))
        elapsed = _served_days(joined, AS_OF)
        for key, api_key, target_h in (("otj", "on_the_job", 40), ("dig", "digital", 5)):
            hours = done[name][key]
            target = Fraction(target_h * served, year_days)
            expected = target * elapsed / served
            forecast = hours * served / elapsed
            row = by_name[name][api_key]
            assert abs(row["hours"] - float(hours)) < 0.006, (name, key)
            assert abs(row["target_hours"] - float(target)) < 0.006, (name, key)
            assert abs(row["expected_hours"] - float(expected)) < 0.006, (name, key)
            assert abs(row["forecast_hours"] - float(forecast)) < 0.006, (name, key)
            assert row["behind"] == (hours < expected), (name, key)
            assert row["met"] == (hours >= target), (name, key)
            dept[PROFILES[name][0]][key] += hours
        dept[PROFILES[name][0]]["staff"] += 1

    rollups = client.get(
        "/training/progress/departments", params={"year": YEAR, "as_of": AS_OF.isoformat()}, headers=officer
    ).json()
    assert {r["department_code"] for r in rollups} == set(dept)
    for r in rollups:
        mine = dept[r["department_code"]]
        assert r["staff"] == mine["staff"]
        assert abs(r["on_the_job_hours"] - float(mine["otj"])) < 0.006
        assert abs(r["digital_hours"] - float(mine["dig"])) < 0.006
    assert any(p["on_the_job"]["hours"] > 0 for p in got)  # the scenario is not empty
