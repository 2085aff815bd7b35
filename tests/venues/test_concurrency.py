"""Fifty simultaneous requests for one slot at a real server: exactly one wins, the rest get 409 naming it.

The app here gets a connection pool as large as the server's thread pool (40). With the default pool
(5 + 10 overflow) fifty simultaneous requests stall for the 30-second pool timeout whatever the route does:
threads blocked waiting for a connection hold every worker thread the connection holders need to finish.
That is a deployment setting (reported in docs/venues.md), not part of what this test proves.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import httpx

from api.main import create_app
from cityhall.db import make_engine, make_sessionmaker
from cityhall.settings import Settings
from tests.api.api_testdata import AuthFor
from tests.venues.conftest import MakeResource, at
from tests.waiting import PATIENCE_S
from tests.web.conftest import ServedApp

CALLERS = 50


def test_fifty_simultaneous_requests_for_one_slot(
    settings: Settings, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(requires_approval=False)
    engine = make_engine(settings.database_url, pool_size=CALLERS, max_overflow=0)
    app = create_app(settings, make_sessionmaker(engine))
    headers = auth_for("sam")
    barrier = threading.Barrier(CALLERS)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def call(base_url: str, index: int) -> None:
        body = {
            "resource_id": hall,
            "title": f"Caller {index}",
            "starts_at": at(day, 10).isoformat(),
            "ends_at": at(day, 12).isoformat(),
            "attendees": 5,
        }
        with httpx.Client(base_url=base_url, timeout=PATIENCE_S) as http:
            barrier.wait()
            response = http.post("/venues/bookings", json=body, headers=headers)
        with lock:
            results.append(response)

    with ServedApp(app) as served:
        threads = [threading.Thread(target=call, args=(served.url, i)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(PATIENCE_S)
    engine.dispose()

    assert Counter(r.status_code for r in results) == {201: 1, 409: CALLERS - 1}
    winner = next(r for r in results if r.status_code == 201).json()["id"]
    for response in results:
        if response.status_code == 409:
            detail = response.json()["detail"][0]
            assert detail["type"] == "slot_taken"
            assert f"booking {winner} " in detail["msg"]
