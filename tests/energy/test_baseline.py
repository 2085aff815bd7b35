"""Baseline models, Guideline 14 metrics and savings uncertainty on data whose truth is known."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from cityhall.energy.baseline import (
    FitMetrics,
    Granularity,
    ModelKind,
    Vector,
    fit_daily,
    fit_hourly,
    fit_metrics,
    monthly_metrics,
    savings,
    t_quantile,
)
from cityhall.energy.periods import TAIPEI

DAYS = [datetime(2026, 1, 1, tzinfo=TAIPEI) + timedelta(days=d) for d in range(365)]


def _tainan_like_temperatures(rng: np.random.Generator) -> Vector:
    """Daily means from 18 degC in January to 29 degC in July, with day-to-day noise."""
    day = np.arange(365, dtype=np.float64)
    seasonal: Vector = 23.5 - 5.5 * np.cos(2 * np.pi * (day - 15) / 365.25)
    return seasonal + rng.normal(0, 1.2, 365)


def test_t_quantiles_match_the_tables() -> None:
    assert t_quantile(0.05, 10) == pytest.approx(1.812, abs=2e-3)
    assert t_quantile(0.05, 30) == pytest.approx(1.697, abs=1e-3)
    assert t_quantile(0.025, 60) == pytest.approx(2.000, abs=1e-3)
    assert t_quantile(0.05, 10_000) == pytest.approx(1.645, abs=1e-3)


def test_metrics_follow_guideline_14_by_hand() -> None:
    observed = np.array([10.0, 12.0, 14.0, 16.0])
    predicted = np.array([11.0, 12.0, 13.0, 14.0])
    metrics = fit_metrics(observed, predicted, params=2)
    # residuals -1, 0, 1, 2: SSE 6, sum 2, mean 13, n - p = 2
    assert metrics.cv_rmse_pct == pytest.approx(100 * math.sqrt(6 / 2) / 13)
    assert metrics.nmbe_pct == pytest.approx(100 * 2 / (2 * 13))
    assert metrics.meets_ashrae14(Granularity.HOURLY)  # 13.3 % and 7.7 %
    assert not metrics.meets_ashrae14(Granularity.MONTHLY)


def test_the_daily_model_recovers_a_cooling_balance_point() -> None:
    rng = np.random.default_rng(1)
    temps = _tainan_like_temperatures(rng)
    usage = 4000.0 + 600.0 * np.maximum(temps - 22.0, 0.0) + rng.normal(0, 150, 365)  # kWh/d
    model = fit_daily(usage, temps)
    assert model.kind is ModelKind.CDD
    assert model.cdd_balance_c == pytest.approx(22.0, abs=1.0)
    assert model.cdd_slope == pytest.approx(600.0, rel=0.1)
    assert model.intercept == pytest.approx(4000.0, rel=0.05)
    assert model.metrics.cv_rmse_pct < 5.0
    assert abs(model.metrics.nmbe_pct) < 1e-6  # OLS with an intercept leaves no bias
    monthly = monthly_metrics(DAYS, usage, model.predict(temps), model.params)
    assert monthly.n == 12
    assert monthly.meets_ashrae14(Granularity.MONTHLY)


def test_heating_and_cooling_are_both_found() -> None:
    rng = np.random.default_rng(2)
    temps = rng.uniform(5.0, 32.0, 365)
    usage = (
        1000 + 50 * np.maximum(14.0 - temps, 0) + 80 * np.maximum(temps - 24.0, 0) + rng.normal(0, 20, 365)
    )
    model = fit_daily(usage, temps)
    assert model.kind is ModelKind.HDD_CDD
    assert model.hdd_balance_c == pytest.approx(14.0, abs=1.0)
    assert model.cdd_balance_c == pytest.approx(24.0, abs=1.0)


def test_weather_independent_usage_gets_an_intercept_only_model() -> None:
    rng = np.random.default_rng(3)
    temps = _tainan_like_temperatures(rng)
    model = fit_daily(1200.0 + rng.normal(0, 30, 365), temps)
    assert model.kind is ModelKind.INTERCEPT
    assert model.intercept == pytest.approx(1200.0, rel=0.01)
    assert model.params == 1


def test_too_few_days_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 20 days"):
        fit_daily([1.0] * 5, [20.0] * 5)


def test_savings_are_found_within_their_uncertainty() -> None:
    rng = np.random.default_rng(4)
    temps = _tainan_like_temperatures(rng)
    baseline_usage = 4000.0 + 600.0 * np.maximum(temps - 22.0, 0.0) + rng.normal(0, 150, 365)
    model = fit_daily(baseline_usage, temps)
    next_temps = _tainan_like_temperatures(rng) + 0.8  # a warmer year: normalisation matters
    truth = 4000.0 + 600.0 * np.maximum(next_temps - 22.0, 0.0)
    reporting = 0.9 * truth + rng.normal(0, 135, 365)
    result = savings(model.metrics, model.predict(next_temps), reporting)
    assert result.savings_pct == pytest.approx(10.0, abs=0.5)
    assert abs(result.savings - 0.1 * truth.sum()) <= result.uncertainty + 0.005 * truth.sum()
    assert result.significant
    assert 0 < result.fractional_uncertainty < 0.5


def test_savings_uncertainty_formula_by_hand() -> None:
    metrics = FitMetrics(cv_rmse_pct=10.0, nmbe_pct=0.0, r2=0.9, n=365, params=3, autocorrelation=0.5)
    result = savings(metrics, [100.0] * 30, [90.0] * 30)
    n_eff = 365 * 0.5 / 1.5
    t = t_quantile(0.05, 362)
    expected = 1.26 * t * 0.10 * math.sqrt((365 / n_eff) * (1 + 2 / n_eff) / 30) * 3000.0
    assert result.savings == pytest.approx(300.0)
    assert result.uncertainty == pytest.approx(expected)
    assert result.fractional_uncertainty == pytest.approx(expected / 300.0)


def test_the_hourly_model_learns_the_week_and_the_weather() -> None:
    rng = np.random.default_rng(5)
    hours = [datetime(2026, 6, 1, tzinfo=TAIPEI) + timedelta(hours=h) for h in range(24 * 7 * 8)]
    temps = np.array([27.0 + 4.0 * math.sin(2 * math.pi * (h.hour - 9) / 24) for h in hours])
    temps += rng.normal(0, 1.0, len(hours))
    occupied = np.array([1.0 if h.weekday() < 5 and 8 <= h.hour < 18 else 0.0 for h in hours])
    usage = 200 + 500 * occupied + 40 * np.maximum(temps - 24.0, 0) + rng.normal(0, 15, len(hours))
    model = fit_hourly(hours, usage, temps)
    assert model.metrics.meets_ashrae14(Granularity.HOURLY)
    assert model.metrics.cv_rmse_pct < 6.0
    predicted = model.predict(hours[:24], temps[:24])
    assert predicted == pytest.approx(usage[:24], abs=60.0)
