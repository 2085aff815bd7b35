"""Venue reports for venue managers: utilisation, approval times and survey scores per venue and month,
as JSON, CSV or XLSX (`?format=`). The dormitory occupancy report lives with the dormitory routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Principal, SessionDep, require_roles
from api.venues import service
from cityhall.models import Role
from cityhall.venues import reports

Format = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Venue managers run the venues; auditors read the numbers.
ReportReader = Annotated[Principal, Depends(require_roles(*service.MANAGERS, Role.AUDITOR))]
Start = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-01"], description="First month")]
End = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-12"], description="Last month")]

router = APIRouter(prefix="/reports")  # the venues router it is included in gives the tag


def report_response(name: str, row_type: type[Any], rows: list[Any], fmt: Format) -> Any:
    """The rows as JSON (a list of objects), or a CSV or XLSX download named after the report."""
    if fmt == "csv":
        return Response(
            reports.to_csv(row_type, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        return Response(
            reports.to_xlsx(name, row_type, rows),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return rows


def month_range(start: str, end: str) -> tuple[Any, Any]:
    """The first days of the first and last months asked for."""
    return (
        reports.parse_month(start, loc=("query", "start")),
        reports.parse_month(end, loc=("query", "end")),
    )


@router.get("/utilisation", response_model=list[reports.UtilisationRow])
def utilisation(
    who: ReportReader, session: SessionDep, start: Start, end: End, format: Format = "json"
) -> Any:
    """Booked hours out of open hours per venue and month (confirmed and checked-in bookings)."""
    first, last = month_range(start, end)
    rows = reports.utilisation(session, first=first, last=last)
    return report_response(f"utilisation-{start}-{end}", reports.UtilisationRow, rows, format)


@router.get("/approval-times", response_model=list[reports.ApprovalTimeRow])
def approval_times(
    who: ReportReader, session: SessionDep, start: Start, end: End, format: Format = "json"
) -> Any:
    """Hours from application to decision per venue and month of the decision."""
    first, last = month_range(start, end)
    rows = reports.approval_times(session, first=first, last=last)
    return report_response(f"approval-times-{start}-{end}", reports.ApprovalTimeRow, rows, format)


@router.get("/surveys", response_model=list[reports.SurveyRow])
def surveys(who: ReportReader, session: SessionDep, start: Start, end: End, format: Format = "json") -> Any:
    """Satisfaction scores per venue and month of the booking."""
    first, last = month_range(start, end)
    rows = reports.survey_scores(session, first=first, last=last)
    return report_response(f"surveys-{start}-{end}", reports.SurveyRow, rows, format)
