"""Benchmark: our CalTRACK-style daily baseline against OpenEEmeter's `eemeter` 4.1.1 on its bundled samples.

Run from the repository root:  .venv/bin/python -m bench.baseline_vs_eemeter [--out FILE]
Needs the `energy-ref` extra (eemeter 4.1.1 and pytz; eemeter imports pytz without declaring it).

The samples are eemeter's own *simulated* Illinois meters (its loader says so: "samples are simulated, not
real, data"): one baseline year, a blackout, then a reporting year with 10 % less load built in, so the true
savings are known. For each daily sample both models are fitted on the 365 days before the blackout and
predict the 365 days after it; we report each model's balance points, Guideline 14 metrics on the baseline
(computed the same way for both, with the same p), predicted reporting-year usage and savings against truth.
The hourly sample is fitted with our time-of-week-and-temperature model only.

eemeter 4.1.1 under pandas 3: its `compute_minimum_granularity` compares a calendar `Day` offset with a
`Timedelta`, which pandas 3 refuses; we answer "daily" for a daily index before calling it (the one shim).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cityhall.energy.baseline import (
    DailyModel,
    Granularity,
    fit_daily,
    fit_hourly,
    fit_metrics,
    monthly_metrics,
    savings,
)

DAILY_SAMPLES = (
    "il-electricity-cdd-hdd-daily",
    "il-electricity-cdd-only-daily",
    "il-gas-hdd-only-daily",
    "il-gas-intercept-only-daily",
)
HOURLY_SAMPLE = "il-electricity-cdd-hdd-hourly"
TRUE_SAVINGS_PCT = 10.0  # the samples' metadata: 10,000 baseline, 9,000 reporting per year


def _f_to_c(values: Any) -> Any:
    return (values - 32.0) * 5.0 / 9.0


def _patch_eemeter() -> Any:
    """Import eemeter with its one pandas-3 incompatibility worked around; return the module."""
    import eemeter.eemeter as em  # noqa: PLC0415 - optional dependency, imported on use
    import eemeter.eemeter.models.daily.data as daily_data  # noqa: PLC0415

    original = daily_data.compute_minimum_granularity

    def granularity(index: Any, default: str | None) -> Any:
        if len(index) > 1 and index.inferred_freq == "D":
            return "daily"
        return original(index, default)

    daily_data.compute_minimum_granularity = granularity
    return em


def _split(series: Any, metadata: dict[str, Any]) -> tuple[Any, Any]:
    import pandas as pd  # noqa: PLC0415

    year = pd.Timedelta(days=365)
    start, end = metadata["blackout_start_date"], metadata["blackout_end_date"]
    baseline = series[(series.index >= start - year) & (series.index < start)].copy()
    reporting = series[(series.index >= end) & (series.index < end + year)].copy()
    for part in (baseline, reporting):
        part.index = pd.DatetimeIndex(part.index.tolist())  # drop the inferred freq (see the module doc)
    return baseline, reporting


@dataclass
class Row:
    """One model on one sample."""

    sample: str
    model: str
    kind: str
    hdd_balance_c: float | None
    cdd_balance_c: float | None
    cv_rmse_daily_pct: float
    nmbe_daily_pct: float
    cv_rmse_monthly_pct: float
    nmbe_monthly_pct: float
    ashrae14_monthly: bool
    reporting_observed: float
    reporting_predicted: float
    savings_pct: float
    savings_uncertainty_pct: float | None
    fit_seconds: float


def _ours(sample: str, base: Any, rep: Any, base_t: Any, rep_t: Any) -> tuple[Row, DailyModel]:
    started = time.perf_counter()
    model = fit_daily(base.to_numpy(), base_t.to_numpy())
    seconds = time.perf_counter() - started
    days = [ts.to_pydatetime() for ts in base.index]
    monthly = monthly_metrics(days, base.to_numpy(), model.predict(base_t.to_numpy()), model.params)
    predicted = model.predict(rep_t.to_numpy())
    result = savings(model.metrics, predicted, rep.to_numpy())
    row = Row(
        sample, "cityhall", str(model.kind), model.hdd_balance_c, model.cdd_balance_c,
        model.metrics.cv_rmse_pct, model.metrics.nmbe_pct, monthly.cv_rmse_pct, monthly.nmbe_pct,
        monthly.meets_ashrae14(Granularity.MONTHLY), float(rep.sum()), float(predicted.sum()),
        result.savings_pct, 100.0 * result.uncertainty / result.adjusted_baseline, seconds,
    )  # fmt: skip
    return row, model


def _eemeter(em: Any, sample: str, base: Any, rep: Any, *, temperature_f: Any, params: int) -> Row:
    started = time.perf_counter()
    baseline_data = em.DailyBaselineData.from_series(base, temperature_f, is_electricity_data=True)
    model = em.DailyModel().fit(baseline_data, ignore_disqualification=True)
    seconds = time.perf_counter() - started
    fitted = model.predict(baseline_data)
    reporting = model.predict(em.DailyReportingData.from_series(rep, temperature_f, is_electricity_data=True))
    observed = fitted["observed"].to_numpy()
    keep = ~np.isnan(observed)
    daily = fit_metrics(observed[keep], fitted["predicted"].to_numpy()[keep], params)
    days = [ts.to_pydatetime() for ts in fitted.index[keep]]
    monthly = monthly_metrics(days, observed[keep], fitted["predicted"].to_numpy()[keep], params)
    coefficients = next(iter(model.params.submodels.values())).coefficients
    predicted = float(np.nansum(reporting["predicted"].to_numpy()))
    observed_rep = float(np.nansum(reporting["observed"].to_numpy()))
    return Row(
        sample, "eemeter 4.1.1", str(coefficients.model_type.value),
        _f_to_c(coefficients.hdd_bp) if coefficients.hdd_bp is not None else None,
        _f_to_c(coefficients.cdd_bp) if coefficients.cdd_bp is not None else None,
        daily.cv_rmse_pct, daily.nmbe_pct, monthly.cv_rmse_pct, monthly.nmbe_pct,
        monthly.meets_ashrae14(Granularity.MONTHLY), observed_rep, predicted,
        100.0 * (predicted - observed_rep) / predicted, None, seconds,
    )  # fmt: skip


def _daily_mean_c(temperature_f: Any) -> Any:
    return _f_to_c(temperature_f.resample("D").mean())


def compare_daily(em: Any) -> list[Row]:
    """Both models on every daily sample."""
    from eemeter.eemeter.samples import load_sample  # noqa: PLC0415

    rows = []
    for sample in DAILY_SAMPLES:
        meter, temperature_f, metadata = load_sample(sample)
        base, rep = _split(meter["value"], metadata)
        daily_c = _daily_mean_c(temperature_f)
        ours, model = _ours(sample, base, rep, daily_c.reindex(base.index), daily_c.reindex(rep.index))
        rows.append(ours)
        rows.append(
            _eemeter(
                em,
                sample,
                base.to_frame("value"),
                rep.to_frame("value"),
                temperature_f=temperature_f,
                params=model.params,
            )
        )
    return rows


def hourly_ours() -> dict[str, float]:
    """Our hourly model on the hourly sample: baseline metrics and savings against the known 10 %."""
    from eemeter.eemeter.samples import load_sample  # noqa: PLC0415

    meter, temperature_f, metadata = load_sample(HOURLY_SAMPLE)
    base, rep = _split(meter["value"], metadata)
    temp_c = _f_to_c(temperature_f)
    base = base.dropna()
    rep = rep.dropna()
    base_hours: list[datetime] = [ts.to_pydatetime() for ts in base.index]
    rep_hours: list[datetime] = [ts.to_pydatetime() for ts in rep.index]
    started = time.perf_counter()
    model = fit_hourly(base_hours, base.to_numpy(), temp_c.reindex(base.index).ffill().to_numpy())
    seconds = time.perf_counter() - started
    predicted = model.predict(rep_hours, temp_c.reindex(rep.index).ffill().to_numpy())
    result = savings(model.metrics, predicted, rep.to_numpy())
    return {
        "cv_rmse_hourly_pct": model.metrics.cv_rmse_pct,
        "nmbe_hourly_pct": model.metrics.nmbe_pct,
        "ashrae14_hourly": model.metrics.meets_ashrae14(Granularity.HOURLY),
        "savings_pct": result.savings_pct,
        "savings_uncertainty_pct": 100.0 * result.uncertainty / result.adjusted_baseline,
        "fit_seconds": seconds,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[Row], hourly: dict[str, float]) -> str:
    """The comparison as Markdown tables for docs/energy.md."""
    lines = [
        "| sample (simulated) | model | kind | HDD bp degC | CDD bp degC | CV(RMSE) daily % | NMBE daily % "
        "| CV(RMSE) monthly % | NMBE monthly % | G14 monthly | reporting predicted | savings % (true 10) "
        "| +/- % (90 %) | fit s |",
        "|" + " --- |" * 14,
    ]
    for r in rows:
        lines.append(
            f"| {r.sample} | {r.model} | {r.kind} | {_fmt(r.hdd_balance_c)} | {_fmt(r.cdd_balance_c)} "
            f"| {_fmt(r.cv_rmse_daily_pct)} | {_fmt(r.nmbe_daily_pct, 2)} | {_fmt(r.cv_rmse_monthly_pct)} "
            f"| {_fmt(r.nmbe_monthly_pct, 2)} | {'yes' if r.ashrae14_monthly else 'no'} "
            f"| {r.reporting_predicted:,.0f} | {_fmt(r.savings_pct, 2)} | {_fmt(r.savings_uncertainty_pct)} "
            f"| {r.fit_seconds:.2f} |"
        )
    lines += [
        "",
        f"Hourly ({HOURLY_SAMPLE}, simulated), our time-of-week-and-temperature model: "
        f"CV(RMSE) {hourly['cv_rmse_hourly_pct']:.1f} %, NMBE {hourly['nmbe_hourly_pct']:.2f} %, "
        f"Guideline 14 hourly {'met' if hourly['ashrae14_hourly'] else 'not met'}; savings "
        f"{hourly['savings_pct']:.2f} % +/- {hourly['savings_uncertainty_pct']:.1f} % (true 10 %); "
        f"fit {hourly['fit_seconds']:.2f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the comparison, print Markdown, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/baseline_vs_eemeter.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # eemeter logs a data-quality warning per call
    em = _patch_eemeter()
    rows = compare_daily(em)
    hourly = hourly_ours()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"daily": [asdict(r) for r in rows], "hourly": hourly}, indent=2) + "\n")
    print(markdown(rows, hourly))


if __name__ == "__main__":
    main()
