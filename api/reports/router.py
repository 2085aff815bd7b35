"""Committee report routes: the committee (and admins) generate; the committee, facility managers and auditors
list and download. Files: `/reports/{id}.pdf`, `.html`, `.xlsx`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker

from api.conservation.dependencies import RegisterDep, StoreDep
from api.deps import Principal, SessionDep, SettingsDep, require_roles
from api.pagination import Page, PageDep, paginate
from api.reports.schemas import ReportCreate, ReportFiles, ReportRead
from cityhall.errors import ConflictError
from cityhall.models import ReportKind, ReportStatus, Role, StoredReport
from cityhall.reports import store as reports
from cityhall.reports.period import report_period

router = APIRouter(prefix="/reports", tags=["reports"])

Generator = Annotated[Principal, Depends(require_roles(Role.ENERGY_COMMITTEE))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.ENERGY_COMMITTEE, Role.FACILITY_MANAGER, Role.AUDITOR))
]


def report_read(row: StoredReport) -> ReportRead:
    """The API's view of a stored report."""
    base = f"/reports/{row.id}"
    return ReportRead(
        id=row.id,
        kind=row.kind,
        period=row.period,
        period_start=row.period_start,
        period_end=row.period_end,
        status=row.status,
        error=row.error,
        generated_at=row.generated_at,
        generated_by=row.generated_by,
        generation_s=row.generation_s,
        summary=row.summary,
        files=ReportFiles(
            pdf=f"{base}.pdf",
            html=f"{base}.html",
            xlsx=f"{base}.xlsx",
            pdf_bytes=row.pdf_bytes,
            html_bytes=row.html_bytes,
            xlsx_bytes=row.xlsx_bytes,
        ),
    )


@router.post("", response_model=ReportRead, status_code=status.HTTP_201_CREATED)
def generate(
    who: Generator,
    data: ReportCreate,
    *,
    session: SessionDep,
    settings: SettingsDep,
    register: RegisterDep,
    store: StoreDep,
    request: Request,
) -> ReportRead:
    """Generate a month's or quarter's report from the reading store (InfluxDB, or the SQL readings table
    without one) and store it (409 if stored, unless replace)."""
    period = report_period(data.kind, data.period)
    existing = reports.find_report(session, data.kind, period.label)
    if existing is not None and existing.status is ReportStatus.READY and not data.replace:
        raise ConflictError(
            "report_exists",
            f"the {data.kind.value} report for {period.label} is stored already (report {existing.id}); "
            "send replace: true to generate it again",
            loc=("body", "period"),
        )
    generated = reports.generate_report(
        session, store, register, period=period, weather_device=settings.energy_weather_device or None
    )
    factory: sessionmaker[Session] = request.app.state.session_factory
    row = reports.save_report(factory, generated, generated_by=who.actor, replace=data.replace)
    return report_read(row)


@router.get("", response_model=Page[ReportRead])
def list_reports(
    who: Reader,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[ReportKind | None, Query(description="Only monthly or only quarterly reports")] = None,
) -> Page[ReportRead]:
    """Stored reports, the latest period first."""
    return paginate(session, reports.reports_query(kind=kind), page, report_read)


# Declared before /{report_id}: "12.pdf" must reach the download, not fail as an id.
@router.get(
    "/{report_id}.{fmt}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in reports.MEDIA_TYPES.values()}}},
)
def download(who: Reader, report_id: int, fmt: reports.ReportFormat, session: SessionDep) -> Response:
    """One of a report's files: PDF, HTML or XLSX."""
    row = reports.get_report(session, report_id)
    data = reports.report_file(row, fmt)
    name = reports.file_name(row.kind, row.period, fmt)
    disposition = "inline" if fmt is not reports.ReportFormat.XLSX else "attachment"
    return Response(
        data,
        media_type=reports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


@router.get("/{report_id}", response_model=ReportRead)
def get_one(who: Reader, report_id: int, session: SessionDep) -> ReportRead:
    """A stored report's metadata and links to its files."""
    return report_read(reports.get_report(session, report_id))
