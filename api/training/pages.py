"""The training pages: server-rendered Jinja2 shells that carry no data; their script signs in and reads
everything through the training API with the user's token, like the console and the crew page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import PublicRoute

TEMPLATES = Path(__file__).with_name("templates")
_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)

pages_router = APIRouter(prefix="/training", tags=["training pages"], include_in_schema=False)


def render(name: str, **context: object) -> HTMLResponse:
    """Render a page template."""
    return HTMLResponse(_env.get_template(name).render(**context))


@pages_router.get("", dependencies=[PublicRoute])
def my_training_page() -> HTMLResponse:
    """My training: hours against the targets, certificates, upcoming sessions to enrol in."""
    return render("my.html", page="my")


@pages_router.get("/department", dependencies=[PublicRoute])
def department_page() -> HTMLResponse:
    """The department dashboard for managers and training officers: roll-up, who is behind, exports."""
    return render("department.html", page="department")


@pages_router.get("/sessions/{session_id}/sheet", dependencies=[PublicRoute])
def attendance_sheet_page(session_id: int) -> HTMLResponse:
    """A session's attendance sheet, sized for a tablet."""
    return render("sheet.html", page="sheet", session_id=session_id)
