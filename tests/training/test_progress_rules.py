"""Targets, pro-rating, behind and forecast as pure functions, checked against hand-worked examples."""

from __future__ import annotations

from datetime import date

from cityhall.models import HourKind
from cityhall.training.progress import (
    PersonYear,
    days_in_year,
    kind_progress,
    person_progress,
    prorated_target_s,
    rollup,
    service_period,
)

H = 3600


def test_a_full_year_owes_forty_and_five_hours() -> None:
    period = service_period(2026, date(2015, 3, 1))
    assert period is not None
    assert period.days == 365
    assert prorated_target_s(40 * H, 2026, period) == 40 * H
    assert prorated_target_s(5 * H, 2026, period) == 5 * H


def test_joining_on_the_first_of_july_owes_the_days_served() -> None:
    period = service_period(2026, date(2026, 7, 1))
    assert period is not None
    assert period.days == 184  # 1 July to 31 December
    assert prorated_target_s(40 * H, 2026, period) == round(40 * H * 184 / 365)
    assert prorated_target_s(5 * H, 2026, period) == round(5 * H * 184 / 365)


def test_leaving_mid_year_and_serving_none_of_the_year() -> None:
    left = service_period(2026, date(2020, 1, 1), date(2026, 3, 31))
    assert left is not None
    assert left.days == 90
    assert service_period(2026, date(2027, 1, 5)) is None
    assert service_period(2026, date(2020, 1, 1), date(2025, 12, 31)) is None
    assert prorated_target_s(40 * H, 2026, None) == 0


def test_leap_years_have_366_days() -> None:
    assert days_in_year(2028) == 366
    assert days_in_year(2026) == 365


def test_behind_and_forecast_follow_the_straight_line() -> None:
    period = service_period(2026, date(2010, 1, 1))
    # 1 July is day 182 of 365: 40 h * 182/365 = 19.945 h expected by then.
    on_track = kind_progress(HourKind.ON_THE_JOB, 20 * H, year=2026, period=period, as_of=date(2026, 7, 1))
    assert on_track.expected_s == 40 * H * 182 // 365
    assert not on_track.behind
    assert on_track.forecast_s == 20 * H * 365 // 182  # 40.1 h at this pace
    assert on_track.forecast_short_s == 0
    late = kind_progress(HourKind.ON_THE_JOB, 10 * H, year=2026, period=period, as_of=date(2026, 7, 1))
    assert late.behind
    assert late.forecast_s == 10 * H * 365 // 182
    assert late.forecast_short_s == 40 * H - late.forecast_s
    assert not late.met


def test_before_service_starts_nothing_is_expected() -> None:
    period = service_period(2026, date(2026, 9, 1))
    progress = kind_progress(HourKind.DIGITAL, 0, year=2026, period=period, as_of=date(2026, 8, 1))
    assert progress.expected_s == 0
    assert not progress.behind
    assert progress.forecast_s == 0


def test_after_the_year_the_forecast_is_what_was_done() -> None:
    period = service_period(2026, date(2010, 1, 1))
    done = kind_progress(HourKind.DIGITAL, 6 * H, year=2026, period=period, as_of=date(2027, 2, 1))
    assert done.expected_s == 5 * H
    assert done.forecast_s == 6 * H
    assert done.met


def test_rollup_counts_people_per_department() -> None:
    def person(uid: int, dept: str, otj_h: int, dig_h: int) -> PersonYear:
        done = {HourKind.ON_THE_JOB: otj_h * H, HourKind.DIGITAL: dig_h * H}
        return PersonYear(uid, f"u{uid}", f"U {uid}", dept, date(2000, 1, 1), None, done)

    people = [
        person_progress(p, year=2026, as_of=date(2026, 12, 31))
        for p in [person(1, "a", 40, 5), person(2, "a", 10, 5), person(3, "b", 50, 1)]
    ]
    a, b = rollup(people)
    assert (a.department_code, a.staff, a.met, a.behind, a.forecast_short) == ("a", 2, 1, 1, 1)
    assert a.on_the_job_s == 50 * H
    assert a.target_on_the_job_s == 80 * H
    assert a.met_pct == 50.0
    assert (b.department_code, b.staff, b.met, b.behind) == ("b", 1, 0, 1)
