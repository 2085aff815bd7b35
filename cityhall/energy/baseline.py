"""Weather-normalised baselines (CalTRACK-style), goodness of fit (ASHRAE Guideline 14) and savings.

Daily model (CalTRACK 2.0 daily methods): daily usage = intercept + hdd_slope x HDD(bp_h) + cdd_slope x
CDD(bp_c), where HDD/CDD are the degrees the day's mean temperature lies below/above a balance point. Four
candidates (intercept only, CDD only, HDD only, HDD and CDD) are fitted by ordinary least squares over a grid
of balance points; a candidate qualifies when its slopes are positive and significant (|t| > t at p = 0.1),
and the qualifying candidate with the best adjusted R2 wins.

Hourly model (CalTRACK 2.0 hourly methods, time-of-week and temperature, without the occupancy split): hourly
usage = one coefficient per hour of the week (168) + a piecewise-linear function of the outdoor temperature.

Metrics follow ASHRAE Guideline 14-2014: CV(RMSE) = sqrt(SSE / (n - p)) / mean, NMBE = sum(y - yhat) /
((n - p) x mean), with p the number of model parameters. Savings uncertainty is Guideline 14's fractional
savings uncertainty with the lag-1 autocorrelation correction (Annex B):
    FSU = 1.26 x t x CV(RMSE) x sqrt((n / n') x (1 + 2 / n') x (1 / m)) / F,  n' = n (1 - rho) / (1 + rho)
where m is the number of reporting points and F the savings as a fraction of the adjusted baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from cityhall.energy.periods import TAIPEI

Vector = npt.NDArray[np.float64]
# Inputs: plain sequences or numpy arrays of any float dtype.
Values = Sequence[float] | npt.NDArray[np.floating[Any]]

# Balance points searched, degC: CalTRACK searches 30-90 degF; Tainan's range needs no more than this.
BALANCE_POINTS_C = tuple(float(t) for t in np.arange(8.0, 30.01, 0.5))
MIN_POINTS_PER_SIDE = 10  # a balance point needs this many days on its side to be estimable (CalTRACK: 10)
SIGNIFICANCE_P = 0.1
CONFIDENCE = 0.9
# Hourly temperature knots, degC (CalTRACK's 30, 45, 55, 65, 75, 90 degF).
HOURLY_KNOTS_C = (-1.1, 7.2, 12.8, 18.3, 23.9, 32.2)


class ModelKind(StrEnum):
    """Which terms a daily model has."""

    INTERCEPT = "intercept_only"
    CDD = "cdd_only"
    HDD = "hdd_only"
    HDD_CDD = "hdd_cdd"


class Granularity(StrEnum):
    """The data a fit is judged on; ASHRAE Guideline 14 sets criteria for hourly and for monthly data."""

    HOURLY = "hourly"
    MONTHLY = "monthly"


# ASHRAE Guideline 14-2014 calibration criteria: (max CV(RMSE) %, max |NMBE| %).
ASHRAE14_LIMITS_PCT: dict[Granularity, tuple[float, float]] = {
    Granularity.HOURLY: (30.0, 10.0),
    Granularity.MONTHLY: (15.0, 5.0),
}


def t_quantile(p: float, dof: float) -> float:
    """Upper quantile of Student's t (one tail p), Cornish-Fisher expansion; good to 1e-3 for dof >= 5."""
    z = _normal_quantile(1 - p)
    return (
        z
        + (z**3 + z) / (4 * dof)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * dof**3)
    )


def _normal_quantile(q: float) -> float:
    """Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9)."""
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if q < 0.02425:
        r = math.sqrt(-2 * math.log(q))
        return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
    if q > 1 - 0.02425:
        return -_normal_quantile(1 - q)
    r = (q - 0.5) ** 2
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * (q - 0.5)
    return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


@dataclass(frozen=True, slots=True)
class FitMetrics:
    """How well a model reproduces the data it is judged on (percentages, and the counts behind them)."""

    cv_rmse_pct: float
    nmbe_pct: float
    r2: float
    n: int
    params: int
    autocorrelation: float

    def meets_ashrae14(self, granularity: Granularity) -> bool:
        """True when CV(RMSE) and |NMBE| are within Guideline 14's limits for this granularity."""
        cv_max, nmbe_max = ASHRAE14_LIMITS_PCT[granularity]
        return self.cv_rmse_pct <= cv_max and abs(self.nmbe_pct) <= nmbe_max


def fit_metrics(observed: Vector, predicted: Vector, params: int) -> FitMetrics:
    """CV(RMSE) and NMBE (Guideline 14, n - p denominators), R2 and lag-1 autocorrelation of residuals."""
    n = len(observed)
    residuals = observed - predicted
    mean = float(observed.mean())
    dof = max(n - params, 1)
    sse = float(residuals @ residuals)
    sst = float(((observed - mean) ** 2).sum())
    rho = 0.0
    if n > 2 and float(residuals.std()) > 0:
        rho = float(np.corrcoef(residuals[:-1], residuals[1:])[0, 1])
    return FitMetrics(
        cv_rmse_pct=100.0 * math.sqrt(sse / dof) / mean if mean else math.inf,
        nmbe_pct=100.0 * float(residuals.sum()) / (dof * mean) if mean else math.inf,
        r2=1.0 - sse / sst if sst else 0.0,
        n=n,
        params=params,
        autocorrelation=rho,
    )


@dataclass(frozen=True, slots=True)
class DailyModel:
    """A fitted daily model: usage per day in the meter's unit (e.g. kWh/d) from the day's mean degC."""

    kind: ModelKind
    intercept: float
    hdd_balance_c: float | None
    hdd_slope: float  # unit per degC-day
    cdd_balance_c: float | None
    cdd_slope: float  # unit per degC-day
    metrics: FitMetrics

    @property
    def params(self) -> int:
        """Parameters estimated, balance points included (Guideline 14's p)."""
        return {ModelKind.INTERCEPT: 1, ModelKind.CDD: 3, ModelKind.HDD: 3, ModelKind.HDD_CDD: 5}[self.kind]

    def predict(self, temperature_c: Values) -> Vector:
        """Predicted usage per day for daily mean temperatures."""
        t = np.asarray(temperature_c, dtype=np.float64)
        out = np.full(t.shape, self.intercept)
        if self.hdd_balance_c is not None:
            out += self.hdd_slope * np.maximum(self.hdd_balance_c - t, 0.0)
        if self.cdd_balance_c is not None:
            out += self.cdd_slope * np.maximum(t - self.cdd_balance_c, 0.0)
        return out


@dataclass(frozen=True, slots=True)
class _Candidate:
    kind: ModelKind
    coef: Vector
    hdd_bp: float | None
    cdd_bp: float | None
    adj_r2: float


def _ols(x: Vector, y: Vector) -> tuple[Vector, Vector, float]:
    """Coefficients, their t statistics and R2 of y ~ x (x holds the intercept column)."""
    coef = np.linalg.lstsq(x, y, rcond=None)[0].astype(np.float64)
    residuals = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    sigma2 = float(residuals @ residuals) / dof
    try:
        cov = sigma2 * np.linalg.inv(x.T @ x)
    except np.linalg.LinAlgError:
        return coef, np.zeros_like(coef), 0.0
    t = (coef / np.sqrt(np.maximum(np.diag(cov), 1e-300))).astype(np.float64)
    sst = float(((y - y.mean()) ** 2).sum())
    return coef, t, 1.0 - float(residuals @ residuals) / sst if sst else 0.0


def _candidate(
    kind: ModelKind, t: Vector, y: Vector, hdd_bp: float | None, cdd_bp: float | None
) -> _Candidate | None:
    columns = [np.ones_like(t)]
    if hdd_bp is not None:
        columns.append(np.maximum(hdd_bp - t, 0.0))
    if cdd_bp is not None:
        columns.append(np.maximum(t - cdd_bp, 0.0))
    if any(int((c > 0).sum()) < MIN_POINTS_PER_SIDE for c in columns[1:]):
        return None
    x = np.column_stack(columns)
    coef, tstat, r2 = _ols(x, y)
    critical = t_quantile(SIGNIFICANCE_P / 2, max(len(y) - x.shape[1], 1))
    if any(c <= 0 or abs(s) < critical for c, s in zip(coef[1:], tstat[1:], strict=True)):
        return None
    n, p = len(y), x.shape[1] + (len(columns) - 1)  # a balance point per slope is estimated too
    adj_r2 = 1.0 - (1.0 - r2) * (n - 1) / max(n - p - 1, 1)
    return _Candidate(kind, coef, hdd_bp, cdd_bp, adj_r2)


def _candidates(t: Vector, y: Vector) -> list[_Candidate]:
    found = [_candidate(ModelKind.INTERCEPT, t, y, None, None)]
    for bp in BALANCE_POINTS_C:
        found.append(_candidate(ModelKind.CDD, t, y, None, bp))
        found.append(_candidate(ModelKind.HDD, t, y, bp, None))
    for hdd_bp in BALANCE_POINTS_C:
        for cdd_bp in BALANCE_POINTS_C:
            if cdd_bp >= hdd_bp:
                found.append(_candidate(ModelKind.HDD_CDD, t, y, hdd_bp, cdd_bp))
    return [c for c in found if c is not None]


def fit_daily(usage: Values, temperature_c: Values) -> DailyModel:
    """Fit the CalTRACK daily model to daily usage (unit/d) and daily mean outdoor temperature (degC)."""
    y = np.asarray(usage, dtype=np.float64)
    t = np.asarray(temperature_c, dtype=np.float64)
    if y.shape != t.shape or len(y) < 2 * MIN_POINTS_PER_SIDE:
        raise ValueError(f"need matching usage and temperature for at least {2 * MIN_POINTS_PER_SIDE} days")
    best = max(_candidates(t, y), key=lambda c: c.adj_r2)
    coef = list(best.coef)
    intercept = coef.pop(0)
    hdd_slope = coef.pop(0) if best.hdd_bp is not None else 0.0
    cdd_slope = coef.pop(0) if best.cdd_bp is not None else 0.0
    model = DailyModel(best.kind, intercept, best.hdd_bp, hdd_slope, best.cdd_bp, cdd_slope, _NO_METRICS)
    metrics = fit_metrics(y, model.predict(t), model.params)
    return DailyModel(best.kind, intercept, best.hdd_bp, hdd_slope, best.cdd_bp, cdd_slope, metrics)


_NO_METRICS = FitMetrics(math.nan, math.nan, math.nan, 0, 0, 0.0)


def monthly_metrics(days: Sequence[datetime], observed: Values, predicted: Values, params: int) -> FitMetrics:
    """Guideline 14 metrics on monthly totals (Asia/Taipei calendar months) of daily figures."""
    months: dict[tuple[int, int], list[float]] = {}
    for day, obs, pred in zip(days, observed, predicted, strict=True):
        local = day.astimezone(TAIPEI) if day.tzinfo else day
        totals = months.setdefault((local.year, local.month), [0.0, 0.0])
        totals[0] += obs
        totals[1] += float(pred)
    values = np.array(list(months.values()), dtype=np.float64)
    return fit_metrics(values[:, 0], values[:, 1], params)


@dataclass(frozen=True, slots=True)
class Savings:
    """Avoided use in the reporting period against the weather-adjusted baseline, in the meter's unit."""

    adjusted_baseline: float
    reporting: float
    savings: float
    savings_pct: float
    uncertainty: float  # +/- in the meter's unit at `confidence`
    fractional_uncertainty: float  # FSU: uncertainty / savings
    confidence: float

    @property
    def significant(self) -> bool:
        """True when the savings exceed their uncertainty (ASHRAE 14 asks FSU < 50 % at 68 % confidence)."""
        return abs(self.savings) > self.uncertainty


def savings(
    baseline: FitMetrics,
    adjusted_baseline: Values,
    reporting: Values,
    *,
    confidence: float = CONFIDENCE,
) -> Savings:
    """Savings = adjusted baseline - reporting usage, with Guideline 14's fractional savings uncertainty."""
    predicted = float(np.sum(adjusted_baseline))
    actual = float(np.sum(reporting))
    saved = predicted - actual
    fraction = saved / predicted if predicted else 0.0
    n, m = baseline.n, len(reporting)
    rho = min(max(baseline.autocorrelation, 0.0), 0.99)
    n_eff = n * (1 - rho) / (1 + rho)
    t = t_quantile((1 - confidence) / 2, max(n - baseline.params, 1))
    spread = 1.26 * t * baseline.cv_rmse_pct / 100.0 * math.sqrt((n / n_eff) * (1 + 2 / n_eff) / m)
    # spread / F is the FSU; times the savings it is the absolute uncertainty, spread x baseline.
    uncertainty = abs(spread * predicted)
    fsu = uncertainty / abs(saved) if saved else math.inf
    return Savings(predicted, actual, saved, 100.0 * fraction, uncertainty, fsu, confidence)


@dataclass(frozen=True, slots=True)
class HourlyModel:
    """Time-of-week and temperature model: usage per hour (unit/h) from the local hour of week and degC."""

    coefficients: Vector
    metrics: FitMetrics

    def predict(self, hours: Sequence[datetime], temperature_c: Values) -> Vector:
        """Predicted usage per hour."""
        return _hourly_design(hours, np.asarray(temperature_c, dtype=np.float64)) @ self.coefficients


def _hour_of_week(ts: datetime) -> int:
    local = ts.astimezone(TAIPEI)
    return local.weekday() * 24 + local.hour


def _temperature_segments(t: Vector) -> Vector:
    """CalTRACK's piecewise-linear temperature basis: one column per segment between the knots."""
    edges = (-math.inf, *HOURLY_KNOTS_C, math.inf)
    columns = []
    for i, (low, high) in enumerate(pairwise(edges)):
        if i == 0:
            columns.append(np.minimum(t, high))
        elif math.isinf(high):
            columns.append(np.maximum(t - low, 0.0))
        else:
            columns.append(np.clip(t - low, 0.0, high - low))
    return np.column_stack(columns)


def _hourly_design(hours: Sequence[datetime], t: Vector) -> Vector:
    tow = np.zeros((len(hours), 168))
    tow[np.arange(len(hours)), [_hour_of_week(h) for h in hours]] = 1.0
    return np.hstack([tow, _temperature_segments(t)])


def fit_hourly(hours: Sequence[datetime], usage: Values, temperature_c: Values) -> HourlyModel:
    """Fit the time-of-week and temperature model to hourly usage (unit/h) and hourly degC."""
    y = np.asarray(usage, dtype=np.float64)
    x = _hourly_design(hours, np.asarray(temperature_c, dtype=np.float64))
    coef = np.linalg.lstsq(x, y, rcond=None)[0].astype(np.float64)
    used = int(np.linalg.matrix_rank(x))
    return HourlyModel(coef, fit_metrics(y, x @ coef, used))
