"""The report's numbers against sums computed here from the raw register readings, with the readings in each
reading store: InfluxDB, and the SQL readings table (SQLite and PostgreSQL) of the embedded default."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import transaction
from cityhall.energy.baseline import fit_daily
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import Area
from cityhall.models import (
    CommitteeAction,
    CommitteeActionStatus,
    CommitteeMeeting,
    ConservationArea,
    ConservationTarget,
    MeetingStatus,
)
from cityhall.reports.build import STEPS, build_report, main_meter_register
from cityhall.reports.content import BaselineStatus, CommitteeReport
from cityhall.reports.period import ReportKind, period_before, report_period
from cityhall.timeseries import AggregatingStore
from tests.reports.conftest import RESET_AT, SAVING_SHARE, SPIKE_AT, WEATHER_DEVICE, ReportData

OCT = report_period(ReportKind.MONTHLY, "2026-10")
OCT_2025 = report_period(ReportKind.MONTHLY, "2025-10")
Q3 = report_period(ReportKind.QUARTERLY, "2026Q3")
Q3_2025 = report_period(ReportKind.QUARTERLY, "2025Q3")
YEAR_2025 = (datetime(2025, 1, 1, tzinfo=TAIPEI), datetime(2026, 1, 1, tzinfo=TAIPEI))


def _committee_records(factory: sessionmaker[Session]) -> None:
    """A target per area for DGA, and a meeting with an overdue, an open and a done action item."""
    with transaction(factory) as session:
        for area, amount, unit in (
            (ConservationArea.ELECTRICITY, 900_000.0, "kWh"),
            (ConservationArea.WATER, 2_000.0, "m3"),
        ):
            session.add(
                ConservationTarget(
                    department_code="DGA",
                    year=2026,
                    area=area,
                    target_amount=amount,
                    unit=unit,
                    created_by="test",
                )
            )
        meeting = CommitteeMeeting(
            title="Energy committee, 3rd meeting (節能委員會第3次會議)",
            starts_at=datetime(2026, 9, 10, 14, tzinfo=TAIPEI),
            status=MeetingStatus.HELD,
            created_by="test",
        )
        session.add(meeting)
        session.flush()
        session.add_all(
            [
                CommitteeAction(
                    meeting_id=meeting.id,
                    description="Retune chiller sequencing (冰水主機)",
                    owner_name="Chen Mei-ling",
                    due_on=date(2026, 10, 15),
                ),
                CommitteeAction(
                    meeting_id=meeting.id,
                    description="Quote LED retrofit for B1 car park",
                    owner_name="Wang Jian",
                    due_on=date(2026, 12, 31),
                ),
                CommitteeAction(
                    meeting_id=meeting.id,
                    description="Report water leak survey",
                    owner_name="Lin Hui",
                    due_on=date(2026, 9, 30),
                    status=CommitteeActionStatus.DONE,
                    done_at=datetime(2026, 9, 29, 9, tzinfo=TAIPEI),
                ),
            ]
        )


@pytest.fixture
def october(
    report_data: ReportData, report_store: AggregatingStore, sqlite_factory: sessionmaker[Session]
) -> CommitteeReport:
    """October 2026's monthly report, with committee records in the database, from each reading store."""
    _committee_records(sqlite_factory)
    steps: list[str] = []
    with sqlite_factory() as session:
        report = build_report(
            session,
            report_store,
            report_data.register,
            kind=ReportKind.MONTHLY,
            period="2026-10",
            weather_device=WEATHER_DEVICE,
            on_step=steps.append,
        )
    assert steps == list(STEPS)
    return report


def test_periods_are_asia_taipei_months_and_quarters() -> None:
    assert OCT.start == datetime(2026, 10, 1, tzinfo=TAIPEI)
    assert OCT.end == datetime(2026, 11, 1, tzinfo=TAIPEI)
    assert OCT.days == 31
    assert OCT.last_year() == OCT_2025
    assert Q3.start == datetime(2026, 7, 1, tzinfo=TAIPEI)
    assert Q3.end == datetime(2026, 10, 1, tzinfo=TAIPEI)
    assert Q3.title == "Q3 2026 (July-September)"
    # 16:30 UTC on 31 October is already 1 November in Taipei: the month before is October, by local time
    assert period_before(ReportKind.MONTHLY, datetime(2026, 10, 31, 16, 30, tzinfo=UTC)) == OCT
    now = datetime(2026, 11, 1, 0, 30, tzinfo=TAIPEI)
    assert period_before(ReportKind.MONTHLY, now) == OCT
    assert period_before(ReportKind.QUARTERLY, now) == Q3
    assert period_before(ReportKind.MONTHLY, datetime(2027, 1, 3, tzinfo=TAIPEI)).label == "2026-12"
    assert period_before(ReportKind.QUARTERLY, datetime(2027, 2, 3, tzinfo=TAIPEI)).label == "2026Q4"


@pytest.mark.parametrize(
    ("kind", "text"),
    [(ReportKind.MONTHLY, "2026-13"), (ReportKind.QUARTERLY, "2026Q5"), (ReportKind.MONTHLY, "2026Q3")],
)
def test_a_bad_period_is_refused_with_its_form(kind: ReportKind, text: str) -> None:
    from cityhall.errors import InvalidInputError  # noqa: PLC0415

    with pytest.raises(InvalidInputError, match="looks like"):
        report_period(kind, text)


def test_consumption_by_building_matches_the_raw_registers(
    october: CommitteeReport, report_data: ReportData
) -> None:
    d = report_data
    expected = {
        Area.ELECTRICITY: {"YH-A": "YH-A-EM-MAIN", "MZ-DORM": "MZ-DORM-EM-MAIN"},
        Area.WATER: {"YH-A": "YH-A-WM-MAIN", "MZ-DORM": "MZ-DORM-WM-MAIN"},
        Area.FUEL: {"YH-A": "YH-A-FM-GEN"},
        Area.SOLAR: {"YH-A": "YH-A-PV-01"},
    }
    assert [a.area for a in october.areas] == list(expected)
    for area, meters in expected.items():
        section = october.area(area)
        assert {row.code for row in section.buildings} == set(meters)
        for row in section.buildings:
            now = d.used(meters[row.code], OCT.start, OCT.end)
            then = d.used(meters[row.code], OCT_2025.start, OCT_2025.end)
            assert row.current.value == pytest.approx(now, rel=1e-9, abs=1e-9)
            assert row.last_year.value == pytest.approx(then, rel=1e-9, abs=1e-9)
            assert (
                row.current.unit
                == section.unit
                == ("kWh" if area in {Area.ELECTRICITY, Area.SOLAR} else "m3")
            )
        assert section.total.current.value == pytest.approx(
            sum(r.current.value or 0 for r in section.buildings)
        )
    # The main building's 7 % saving shows against last October (weather differs a little)
    main = next(r for r in october.area(Area.ELECTRICITY).buildings if r.code == "YH-A")
    assert main.change.unit == "%"
    assert main.change.value == pytest.approx(-100 * SAVING_SHARE, abs=3.0)
    assert main.name == "Main Administrative Building (永華市政中心行政大樓)"


def test_departments_get_their_floor_area_share(october: CommitteeReport, report_data: ReportData) -> None:
    d = report_data
    yh = d.used("YH-A-EM-MAIN", OCT.start, OCT.end)
    mz = d.used("MZ-DORM-EM-MAIN", OCT.start, OCT.end)
    rows = {r.code: r for r in october.area(Area.ELECTRICITY).departments}
    assert rows["DGA"].current.value == pytest.approx(yh * 3000 / 20000, rel=1e-9)
    assert rows["DBAS"].current.value == pytest.approx(yh * 1000 / 20000 + mz * 2000 / 5000, rel=1e-9)
    assert rows["DBAS"].current.unit == "kWh"
    assert set(rows) == {"DGA", "DBAS"}


def test_daily_series_lines_up_day_by_day(october: CommitteeReport, report_data: ReportData) -> None:
    daily = october.area(Area.ELECTRICITY).daily
    assert len(daily.days) == 31
    assert daily.days[0] == date(2026, 10, 1)
    day = datetime(2026, 10, 7, tzinfo=TAIPEI)
    then = datetime(2025, 10, 7, tzinfo=TAIPEI)
    one = timedelta(days=1)
    for devices, values, start in (
        (daily.current, daily.current, day),
        (daily.last_year, daily.last_year, then),
    ):
        assert devices is values
        expected = report_data.used("YH-A-EM-MAIN", start, start + one) + report_data.used(
            "MZ-DORM-EM-MAIN", start, start + one
        )
        assert values[6] == pytest.approx(expected, rel=1e-9)
    assert sum(v or 0 for v in daily.current) == pytest.approx(
        october.area(Area.ELECTRICITY).total.current.value
    )


def test_enpis_are_computed_from_the_readings(october: CommitteeReport, report_data: ReportData) -> None:
    d = report_data
    yh = next(b for b in october.enpis if b.code == "YH-A")
    kwh = d.used("YH-A-EM-MAIN", OCT.start, OCT.end)
    assert yh.value("electricity_kwh").value == pytest.approx(kwh, rel=1e-9)
    assert yh.value("kwh_per_m2").value == pytest.approx(kwh / 20000, rel=1e-9)
    assert yh.value("kwh_per_m2").unit == "kWh/m2"
    assert yh.value("kwh_per_occupant").value == pytest.approx(kwh / 200, rel=1e-9)
    assert yh.value("peak_demand_kw").value == pytest.approx(
        d.peak_kw("YH-A-EM-MAIN", OCT.start, OCT.end), rel=1e-9
    )
    assert yh.value("water_m3").value == pytest.approx(d.used("YH-A-WM-MAIN", OCT.start, OCT.end), rel=1e-9)
    solar = d.used("YH-A-PV-01", OCT.start, OCT.end)
    assert yh.value("solar_share_pct").value == pytest.approx(100 * solar / (kwh + solar), rel=1e-9)
    temps = d.daily_mean_c(OCT.start, OCT.end)
    cdd = sum(max(0.0, t - 24.0) for t in temps.values())
    assert october.weather.cooling_degree_days.value == pytest.approx(cdd, rel=1e-9)
    assert yh.value("kwh_per_cdd").value == pytest.approx(kwh / cdd, rel=1e-9)
    # Offices idle at night: the night baseload is well below the working-hours load
    night = yh.value("night_baseload_ratio").value
    assert night is not None
    assert 0.2 < night < 0.8
    mz = next(b for b in october.enpis if b.code == "MZ-DORM")
    assert mz.value("solar_self_consumed_kwh").value == 0.0


def test_baseline_recovers_the_saving_within_its_uncertainty(
    october: CommitteeReport, report_data: ReportData
) -> None:
    yh = next(b for b in october.baselines if b.code == "YH-A")
    assert yh.status is BaselineStatus.FITTED
    assert yh.baseline_days == 365
    assert yh.model_kind is not None
    assert yh.cdd_balance.unit == "degC"
    assert yh.cv_rmse_monthly.unit == "%"
    assert yh.meets_ashrae14 is True
    assert yh.cv_rmse_monthly.value is not None
    assert yh.cv_rmse_monthly.value <= 15.0
    assert yh.reporting.value == pytest.approx(report_data.used("YH-A-EM-MAIN", OCT.start, OCT.end), rel=1e-9)
    assert yh.savings_pct.value is not None
    assert yh.uncertainty.value is not None
    assert yh.savings.unit == yh.uncertainty.unit == "kWh"
    assert yh.confidence.value == pytest.approx(90.0)
    # 7 % less electricity was built into the data from 2026 on; the model finds it, within its band
    band = 100 * yh.uncertainty.value / (yh.adjusted_baseline.value or 1)
    assert abs(yh.savings_pct.value - 100 * SAVING_SHARE) < max(band, 1.5)
    assert yh.significant is True
    # The same fit, made here from the raw readings and temperatures, gives the same model
    days = [datetime(2025, 1, 1, tzinfo=TAIPEI) + timedelta(days=i) for i in range(365)]
    temps = report_data.daily_mean_c(*YEAR_2025)
    usage = [report_data.used("YH-A-EM-MAIN", day, day + timedelta(days=1)) for day in days]
    model = fit_daily(np.array(usage), np.array([temps[day] for day in days]))
    assert yh.intercept.value == pytest.approx(model.intercept, rel=1e-6)
    assert yh.cv_rmse_daily.value == pytest.approx(model.metrics.cv_rmse_pct, rel=1e-6)
    # The dormitory did not change: no significant saving
    mz = next(b for b in october.baselines if b.code == "MZ-DORM")
    assert mz.status is BaselineStatus.FITTED
    assert mz.savings_pct.value is not None
    assert abs(mz.savings_pct.value) < 4.0


def test_register_anomalies_are_listed(october: CommitteeReport) -> None:
    found = {(a.device, a.kind, a.ts) for a in october.anomalies}
    assert ("YH-A-EM-MAIN", "reset", RESET_AT) in found
    assert ("MZ-DORM-WM-MAIN", "spike", SPIKE_AT) in found
    spike = next(a for a in october.anomalies if a.kind == "spike")
    assert spike.building == "MZ-DORM"
    assert spike.after.unit == "m3"
    assert spike.counted.value == 0.0


def test_four_areas_progress_and_action_items(october: CommitteeReport, report_data: ReportData) -> None:
    dga = {r.area: r for r in october.progress if r.department == "DGA"}
    assert set(dga) == {"electricity", "water", "fuel", "paper"}
    jan = datetime(2026, 1, 1, tzinfo=TAIPEI)
    expected = report_data.used("YH-A-EM-MAIN", jan, OCT.end) * 3000 / 20000
    assert dga["electricity"].actual.value == pytest.approx(expected, rel=1e-9)
    assert dga["electricity"].actual.unit == "kWh"
    assert dga["electricity"].target.value == 900_000.0
    assert dga["electricity"].status in {"on_track", "at_risk", "behind"}
    assert dga["paper"].status == "no_target"
    items = {i.description: i for i in october.action_items}
    assert set(items) == {"Retune chiller sequencing (冰水主機)", "Quote LED retrofit for B1 car park"}
    assert items["Retune chiller sequencing (冰水主機)"].overdue
    assert not items["Quote LED retrofit for B1 car park"].overdue
    assert [i.description for i in october.overdue_items] == ["Retune chiller sequencing (冰水主機)"]


def test_quarterly_report_sums_three_months(
    report_data: ReportData, report_store: AggregatingStore, sqlite_factory: sessionmaker[Session]
) -> None:
    with sqlite_factory() as session:
        report = build_report(
            session, report_store, report_data.register, kind=ReportKind.QUARTERLY, period="2026Q3"
        )
    row = next(r for r in report.area(Area.ELECTRICITY).buildings if r.code == "YH-A")
    assert row.current.value == pytest.approx(report_data.used("YH-A-EM-MAIN", Q3.start, Q3.end), rel=1e-9)
    assert row.last_year.value == pytest.approx(
        report_data.used("YH-A-EM-MAIN", Q3_2025.start, Q3_2025.end), rel=1e-9
    )
    assert len(report.area(Area.ELECTRICITY).daily.days) == 92
    assert report.anomalies == ()  # the faults are in October
    # Without an outdoor sensor the report says so instead of inventing a baseline
    assert all(b.status is BaselineStatus.NO_WEATHER for b in report.baselines)
    assert report.weather.cooling_degree_days.value is None
    assert any("outdoor temperature" in note for note in report.notes)


def test_main_meter_register_keeps_only_what_buildings_sum(report_data: ReportData) -> None:
    mains = main_meter_register(report_data.register)
    assert sorted(mains.meters) == [
        "MZ-DORM-EM-MAIN",
        "MZ-DORM-WM-MAIN",
        "YH-A-EM-MAIN",
        "YH-A-FM-GEN",
        "YH-A-PV-01",
        "YH-A-WM-MAIN",
    ]
