"""Swagger UI at /docs and ReDoc at /redoc, served with no network at all.

FastAPI's own pages load Swagger UI, ReDoc and a favicon from a CDN that city networks cannot reach, so they
stay blank there; the app is created with them turned off. These pages are built by the same FastAPI helpers,
but their script, style sheet and icon are the copies that the pinned `fastapi-offline` package ships as
package data (1.7.7: Swagger UI 5.32.6, ReDoc 2.5.3), served by this router. Nothing is copied into our
repository. The pages and files hold no data: the pages read /openapi.json, which is public as well.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import PublicRoute
from cityhall.errors import NotFoundError

OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
# Only the files; fastapi-offline's FastAPIOffline() would also build the app, which create_app does.
ASSETS_DIR = Path(str(resources.files("fastapi_offline") / "static"))
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# Swagger UI's validity badge is an image from validator.swagger.io on any host but localhost; FastAPI's
# layout does not show it today, and this keeps it off should the layout change.
OFFLINE_SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}
# The pages may load from this server only. ReDoc 2.5.3 always shows Redocly's logo from cdn.redoc.ly at the
# foot of its menu (no option turns it off): with this policy the browser never asks for it, and ReDoc drops
# the image. Whatever a later Swagger UI or ReDoc reaches for is stopped the same way.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # FastAPI's page starts Swagger UI with an inline script
        "style-src 'self' 'unsafe-inline'",  # ReDoc writes its styles into the page
        "img-src 'self' data:",  # Swagger UI's icons are data: URLs in its style sheet
        "worker-src 'self' blob:",  # ReDoc's search runs in a worker made from a blob
        "object-src 'none'",
        "base-uri 'self'",
    )
)

router = APIRouter(tags=["docs"], include_in_schema=False, dependencies=[PublicRoute])


def _root_path(request: Request) -> str:
    """The prefix the app is mounted under behind a proxy ("" when none), as FastAPI's own pages use it."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _local_only(page: HTMLResponse) -> HTMLResponse:
    """The page with the policy that keeps the browser from loading anything from another host."""
    page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return page


def _openapi_url(app: FastAPI) -> str:
    """The schema the pages render; the app must serve one."""
    if app.openapi_url is None:
        raise NotFoundError("openapi_disabled", "this app serves no OpenAPI schema")
    return app.openapi_url


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every route, with "Try it out" using a bearer token or an API key."""
    app: FastAPI = request.app
    root = _root_path(request)
    page = get_swagger_ui_html(
        openapi_url=root + _openapi_url(app),
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), **OFFLINE_SWAGGER_UI_PARAMETERS},
    )
    return _local_only(page)


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    """Where an OAuth2 provider sends Swagger UI back to (FastAPI's page; it loads nothing)."""
    return _local_only(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same schema as a three-pane reference, in the browser's own fonts."""
    app: FastAPI = request.app
    root = _root_path(request)
    page = get_redoc_html(
        openapi_url=root + _openapi_url(app),
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )
    return _local_only(page)


@router.get(ASSETS_URL + "/{name}")
def docs_asset(name: str) -> FileResponse:
    """Swagger UI's and ReDoc's scripts and style sheet, and the pages' icon, from fastapi-offline."""
    if name not in ASSET_TYPES:
        raise NotFoundError("docs_asset_not_found", "no such documentation asset", loc=("path", "name"))
    return FileResponse(ASSETS_DIR / name, media_type=ASSET_TYPES[name])
