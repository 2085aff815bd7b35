"""Prometheus request metrics, registered once per process, and the ASGI middleware that records them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import REGISTRY, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class RequestMetrics:
    """The request counter and latency histogram, labelled by method, route template and status."""

    requests: Counter
    latency_seconds: Histogram


_metrics: RequestMetrics | None = None


def request_metrics() -> RequestMetrics:
    """The process-wide request metrics; creating several apps in one process registers them once."""
    global _metrics  # noqa: PLW0603 - a process-wide singleton is the point: the default REGISTRY is global
    with _lock:
        if _metrics is None:
            labels = ("method", "route", "status")
            _metrics = RequestMetrics(
                requests=Counter("cityhall_api_requests", "HTTP requests handled", labels, registry=REGISTRY),
                latency_seconds=Histogram(
                    "cityhall_api_request_duration_seconds",
                    "Time to handle an HTTP request",
                    labels,
                    registry=REGISTRY,
                ),
            )
        return _metrics


def route_template(scope: Scope) -> str:
    """The matched route's path template (e.g. `/tickets/{ticket_id}`), so labels stay few."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestObserver:
    """ASGI middleware: count and time every HTTP request, and log it with structlog."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = request_metrics()
        self.log = structlog.get_logger("api.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting the response status and the time taken."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            labels = {"method": scope["method"], "route": route_template(scope), "status": str(status)}
            self.metrics.requests.labels(**labels).inc()
            self.metrics.latency_seconds.labels(**labels).observe(elapsed)
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=labels["route"],
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
