"""The weekly alarm-health report page: a server-rendered shell that carries no data; its script signs in
and reads everything through GET /alarms/health with the user's token, like the console and the crew page."""

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

router = APIRouter(tags=["alarm health pages"], include_in_schema=False)


@router.get("/alarm-health", dependencies=[PublicRoute])
def alarm_health_page() -> HTMLResponse:
    """The week's alarm-system health: figures against the benchmarks, floods, bad actors and what to do."""
    return HTMLResponse(_env.get_template("health.html").render())
