"""Cross-cutting checks: deny by default, error shape, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from api.deps import route_access
from api.main import create_app
from cityhall.db import make_engine, make_sessionmaker
from cityhall.models import Role
from cityhall.settings import Settings
from tests.api.api_testdata import AuthFor

# FastAPI's own schema route is not ours to guard (the documentation pages are ours: api/docs/router.py).
FRAMEWORK_PATHS = frozenset({"/openapi.json"})


def unguarded_routes(app: FastAPI) -> list[str]:
    """Every API route that declares neither `require_roles(...)` nor `public`."""
    found: list[str] = []
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if context.path in FRAMEWORK_PATHS:
            continue
        assert isinstance(route, APIRoute), f"unexpected non-API route {context.path}"
        if route_access(route) is None:
            found.append(f"{sorted(route.methods or ())} {context.path}")
    return found


def api_paths(app: FastAPI) -> set[str]:
    """The paths of the app's API routes."""
    return {
        str(c.path) for c in routing.iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)
    }


def test_every_route_declares_its_roles_or_is_public(app: FastAPI) -> None:
    """Deny by default: a route without a role gate or the public marker fails the build."""
    assert len(api_paths(app)) >= 20  # the walk really sees the included routers
    assert unguarded_routes(app) == []


def test_the_route_walk_catches_an_unguarded_route(app: FastAPI) -> None:
    """The walker is not vacuous: a route added without a gate is reported."""

    @app.get("/oops")
    def oops() -> dict[str, str]:
        return {"open": "to everyone"}

    assert unguarded_routes(app) == ["['GET'] /oops"]


def test_only_health_metrics_and_sign_in_are_public(app: FastAPI) -> None:
    """The public surface is exactly what ARCHITECTURE.md §6 allows: read-only probes, sign-in, and the
    console's static page and assets (they carry no data; the page reads everything with the user's token)."""
    public = {
        str(c.path)
        for c in routing.iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and route_access(c.original_route) == "public"
    }
    venues = {  # read-only availability and feeds without personal data; applications are rate-limited
        "/venues/public/resources",
        "/venues/public/resources/{resource_id}/busy",
        "/venues/public/resources/{resource_id}/calendar.ics",
        "/venues/public/applications",  # GET/POST; your own ones only, with your X-Applicant-Key
        "/venues/public/applications/{booking_id}/cancel",
        "/venues/public/applications/{booking_id}/survey",
        "/venues/feeds/{key}.ics",  # the key in the URL is the credential
        # Server-rendered pages: the public week calendar (times and states only, no one's name) and the
        # application form (GET/POST, the same rate limit as the JSON route); the staff pages' sign-in
        # form (GET/POST) and sign-out, which only sets or clears the page cookie.
        "/venues/calendar",
        "/venues/calendar/{resource_id}",
        "/venues/calendar/{resource_id}/apply",
        "/venues/sign-in",
        "/venues/sign-out",
    }
    training = {  # page shells like /crew: no data, their script calls the API with the user's token
        "/training",
        "/training/department",
        "/training/sessions/{session_id}/sheet",
        "/alarm-health",  # the weekly alarm-health report, the same kind of shell
    }
    api_docs = {  # Swagger UI, ReDoc and their files, as FastAPI's own were: they show the public schema
        "/docs",
        "/docs/oauth2-redirect",
        "/docs/assets/{name}",
        "/redoc",
    }
    assert (
        public
        == {"/health", "/metrics", "/auth/token", "/", "/crew", "/static/{name}"}
        | venues
        | training
        | api_docs
    )


def test_admin_is_admitted_everywhere(app: FastAPI) -> None:
    """Every gated route admits admin."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            access = route_access(context.original_route)
            assert access == "public" or (access is not None and Role.ADMIN in access), context.path


def test_wrong_role_gets_403_in_fastapi_shape(client: TestClient, auth_for: AuthFor) -> None:
    """A signed-in caller whose role is not admitted gets 403 with a message naming the admitted roles."""
    response = client.get("/users", headers=auth_for("sam"))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail[0]["type"] == "forbidden"
    assert "admin" in detail[0]["msg"]
    assert "loc" not in detail[0]
    assert client.get("/audit", headers=auth_for("fiona")).status_code == 403
    assert client.get("/dead-letters", headers=auth_for("eric")).status_code == 403
    assert client.get("/alarms", headers=auth_for("sam")).status_code == 403


def test_limit_out_of_range_is_422_naming_the_query_field(client: TestClient, auth_for: AuthFor) -> None:
    """limit=0 and limit=501 are refused with loc ['query', 'limit']; offset must be >= 0."""
    for params in ({"limit": 0}, {"limit": 501}):
        response = client.get("/users", params=params, headers=auth_for("ada"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]
    response = client.get("/users", params={"offset": -1}, headers=auth_for("ada"))
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


def test_health_reports_the_database(client: TestClient) -> None:
    """With the database up, /health is ok and names the version."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}, "version": "0.1.0"}


def test_health_is_503_when_the_database_is_down(settings: Settings) -> None:
    """A database that refuses connections makes /health degraded with 503."""
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    down: sessionmaker[Session] = make_sessionmaker(engine)
    with TestClient(create_app(settings, down)) as client:
        response = client.get("/health")
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"] == {"database": "error"}


def test_metrics_count_requests_by_route_template(settings: Settings, client: TestClient) -> None:
    """Requests are counted by route template; a second app in the process registers nothing new."""
    labels = {"method": "GET", "route": "/tickets/{ticket_id}", "status": "401"}
    before = REGISTRY.get_sample_value("cityhall_api_requests_total", labels) or 0.0
    client.get("/tickets/123")
    client.get("/tickets/456")
    assert REGISTRY.get_sample_value("cityhall_api_requests_total", labels) == before + 2

    create_app(settings)  # would raise "Duplicated timeseries" if the metrics registered again
    text = client.get("/metrics").text
    assert 'cityhall_api_requests_total{method="GET",route="/tickets/{ticket_id}",status="401"}' in text
    assert "cityhall_api_request_duration_seconds_bucket" in text
    assert "/tickets/123" not in text


def test_openapi_documents_both_security_schemes(client: TestClient) -> None:
    """The OpenAPI document offers the bearer token and the X-API-Key header."""
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "CityHall Ops API"
    schemes = schema["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"


def test_each_operation_is_listed_once_under_each_tag(client: TestClient) -> None:
    """A router included in another with the same tag would list its operations twice in ReDoc."""
    schema = client.get("/openapi.json").json()
    doubled = [
        f"{method.upper()} {path}: {op['tags']}"
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if isinstance(op, dict) and len(op.get("tags", [])) != len(set(op.get("tags", [])))
    ]
    assert doubled == []
    tags = {
        tag for methods in schema["paths"].values() for op in methods.values() for tag in op.get("tags", [])
    }
    assert "venues" in tags
