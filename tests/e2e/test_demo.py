"""The demo's embedded path: amqtt broker, SQLite, SQL reading store, simulator, collector, rules, API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from cityhall.demo import DEMO_ADMIN, start_demo
from tests import servers
from tests.e2e.e2e_helpers import get_items, sign_in, wait_for

pytestmark = pytest.mark.slow
DORM_METER = "MZ-DORM-EM-MAIN"


def test_demo_story_raises_and_clears(tmp_path: Path) -> None:
    # The shipped demo fault, but ending after 45 s so the alarm also clears.
    stack = start_demo(
        data_dir=tmp_path, api_port=servers.free_port(), faults=(f"demand_step:{DORM_METER}:200:5:45",)
    )
    try:
        with TestClient(create_app(stack.settings, stack.session_factory)) as client:
            headers = sign_in(client, DEMO_ADMIN, stack.admin_password)
            devices = client.get("/devices?limit=500", headers=headers).json()
            assert devices["total"] >= 60  # the seeded civic centers and dormitory
            # The conservation seed: targets, paper entered so far, a held meeting with an overdue action.
            progress = client.get("/conservation/progress", headers=headers).json()
            paper = {r["department"]: r for r in progress["items"] if r["area"] == "paper" and r["target"]}
            assert set(paper) == {"SEC", "CIVIL", "EDU"}
            assert all(r["unit"] == "ream" and r["metered"] == 0 for r in paper.values())
            overdue = client.get("/conservation/actions?overdue=true", headers=headers).json()
            assert [a["description"][:26] for a in overdue["items"]] == ["Set double-sided printing "]

            tickets = wait_for(
                lambda: get_items(client, "/tickets", headers),
                timeout=60,
                what="a ticket from the demo fault",
            )
            assert len(tickets) == 1
            assert tickets[0]["source"] == "rule"
            (alarm,) = get_items(client, "/alarms?state=active", headers)
            assert alarm["rule_key"] == "dorm-demand-high"
            assert alarm["trigger_value"] > 150

            wait_for(
                lambda: not get_items(client, "/alarms?state=active", headers),
                timeout=40,
                what="the alarm to clear after the fault ends",
            )
            assert client.get(f"/alarms/{alarm['id']}", headers=headers).json()["state"] == "cleared"
            assert len(get_items(client, "/tickets", headers)) == 1  # no second ticket
            assert get_items(client, "/dead-letters", headers) == []  # every simulated payload was valid
    finally:
        stack.stop()


def test_demo_command_shows_a_ticket_within_60_s(tmp_path: Path) -> None:
    port = servers.free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cityhall", "demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    banner = ""
    try:
        while "Injected fault" not in banner:
            line = proc.stdout.readline()
            assert line, f"demo exited early:\n{banner}"
            banner += line
        password = re.search(r"password '([^']+)'", banner)
        assert password, banner
        base = f"http://127.0.0.1:{port}"

        def api_up() -> bool:
            try:
                return httpx.get(f"{base}/health").status_code == 200
            except httpx.ConnectError:
                return False  # uvicorn starts listening just after the banner

        wait_for(api_up, timeout=20, what="the API")
        token = httpx.post(f"{base}/auth/token", data={"username": DEMO_ADMIN, "password": password.group(1)})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        tickets = wait_for(
            lambda: httpx.get(f"{base}/tickets", headers=headers).json()["items"],
            timeout=60,
            what="a ticket through the demo's API",
        )
        assert tickets[0]["title"].startswith("Dormitory demand above contracted capacity")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "CityHall Ops demo stopped." in out
