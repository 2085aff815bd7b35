"""Structured logs and the /health + /metrics endpoint that every non-HTTP process serves."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cityhall import __version__

HealthCheck = Callable[[], dict[str, bool]]


def configure_logging(*, log_format: str = "console", level: str = "INFO") -> None:
    """Route structlog and stdlib logging to one structured stream (JSON in production)."""
    renderer: structlog.types.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        # Not cached: a logger bound on first use keeps that configuration for good, so a later
        # `structlog.configure` (a test's `capture_logs`, a process that reconfigures) would never reach it.
        # Logging is not on the per-message path, so the lookup it saves is not worth that.
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), format="%(message)s")
    for noisy in ("amqtt", "transitions", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Handler(BaseHTTPRequestHandler):
    check: HealthCheck = staticmethod(dict)

    def do_GET(self) -> None:
        """Serve /health (JSON, 503 when a check fails) and /metrics (Prometheus text)."""
        if self.path == "/metrics":
            body, status, ctype = generate_latest(), 200, CONTENT_TYPE_LATEST
        elif self.path == "/health":
            checks = type(self).check()
            ok = all(checks.values())
            doc = {"status": "ok" if ok else "degraded", "checks": checks, "version": __version__}
            body, status, ctype = json.dumps(doc).encode(), 200 if ok else 503, "application/json"
        else:
            body, status, ctype = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood the log; stay quiet."""


def serve_health(host: str, port: int, check: HealthCheck) -> ThreadingHTTPServer:
    """Start /health and /metrics on a daemon thread; returns the server (its port if 0 was asked)."""
    handler = type("HealthHandler", (_Handler,), {"check": staticmethod(check)})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name=f"health:{port}", daemon=True).start()
    return server
