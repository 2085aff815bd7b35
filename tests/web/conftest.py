"""Browser fixtures: Debian's Chromium driven by Playwright, and the API served by uvicorn on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, expect, sync_playwright

from tests import servers
from tests.waiting import PATIENCE_S, wait_for

CHROMIUM = Path("/usr/bin/chromium")
# Without these, Chromium reaches for Google's services, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a browser build downloaded by a test tool)."""
    if not CHROMIUM.exists():
        servers.require_service("chromium", "run scripts/install-system-deps.sh")
    # expect() polls its condition, but gives up after 5 s by default: a slow machine's page is not wrong.
    expect.set_options(timeout=PATIENCE_S * 1000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ServedApp:
    """An ASGI app served by uvicorn in a thread, for the browser to load."""

    def __init__(self, app: FastAPI) -> None:
        self.port = servers.free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), what="uvicorn to start")
        if not self.server.started:
            raise RuntimeError("uvicorn stopped before it served (see the log above)")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
