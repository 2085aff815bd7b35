"""The energy-conservation committee's monthly and quarterly report: numbers, charts, PDF, HTML and XLSX."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cityhall.assets import AssetDocument
    from cityhall.timeseries.influx import InfluxStore


def timing(store: InfluxStore, doc: AssetDocument, *, end: datetime, tmp: Path) -> float:
    """Seconds to build the last whole month's report before `end` and write its PDF, HTML and XLSX into
    `tmp` (bench/energy_year.py); the outdoor sensor is the first climate sensor that serves "outdoor"."""
    import time  # noqa: PLC0415 - the bench's entry point; the package itself stays light to import

    from cityhall.db import Base, make_engine, make_sessionmaker  # noqa: PLC0415
    from cityhall.energy.register import register_from_document  # noqa: PLC0415
    from cityhall.models import DeviceKind, ReportKind  # noqa: PLC0415
    from cityhall.reports.period import period_before  # noqa: PLC0415
    from cityhall.reports.store import file_name, generate_report  # noqa: PLC0415

    engine = make_engine(f"sqlite+pysqlite:///{tmp / 'timing.db'}")
    Base.metadata.create_all(engine)
    weather = next(
        (d.code for *_, d in doc.devices() if d.kind is DeviceKind.CLIMATE_SENSOR and d.serves == "outdoor"),
        None,
    )
    period = period_before(ReportKind.MONTHLY, end)
    started = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        generated = generate_report(
            session, store, register_from_document(doc), period=period, weather_device=weather
        )
    for fmt, data in generated.files.items():
        (tmp / file_name(period.kind, period.label, fmt)).write_bytes(data)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds
