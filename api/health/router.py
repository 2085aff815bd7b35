"""Public health and Prometheus metrics endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.deps import PublicRoute
from api.health import service
from api.health.schemas import HealthRead

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthRead,
    dependencies=[PublicRoute],
    responses={503: {"model": HealthRead, "description": "A dependency is down"}},
)
def health(request: Request) -> JSONResponse:
    """Report whether the database answers; 503 when it does not."""
    report = service.check(session_factory=request.app.state.session_factory)
    return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)


@router.get("/metrics", dependencies=[PublicRoute], response_class=Response)
def metrics() -> Response:
    """Prometheus text exposition of the process's default registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
