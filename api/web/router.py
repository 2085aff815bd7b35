"""Serves the web console; the page itself holds no data, everything it shows comes from the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from api.deps import PublicRoute

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "app.js": "text/javascript",
    "app.css": "text/css",
    "crew.js": "text/javascript",
    "crew.css": "text/css",
    "session.js": "text/javascript",
}

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/", dependencies=[PublicRoute])
def console() -> FileResponse:
    """The operations console (sign in, alarms, tickets)."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/crew", dependencies=[PublicRoute])
def crew() -> FileResponse:
    """The maintenance crew's phone page: my jobs, accept, hold, done with a note."""
    return FileResponse(STATIC / "crew.html", media_type="text/html")


@router.get("/static/{name}", dependencies=[PublicRoute])
def asset(name: str) -> FileResponse:
    """The console's script and style sheet."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name])
