"""The dormitory board (server-rendered): every room's occupants, repair block, cleaning and inspection
state, and its electricity and water this month, for the facility managers."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.deps import Principal, SessionDep
from api.dorms import service
from api.dorms.dependencies import StoreDep
from api.venues.page_session import page_roles
from api.venues.pages import render
from cityhall.db import utcnow
from cityhall.venues import dorms
from cityhall.venues.rules import TAIPEI

router = APIRouter(include_in_schema=False)

ManagerPage = Annotated[Principal, Depends(page_roles(*service.MANAGERS))]


@router.get("/board", response_class=HTMLResponse)
def dorm_board(request: Request, who: ManagerPage, session: SessionDep, store: StoreDep) -> HTMLResponse:
    """The dormitory board: one card per room, today, with this month's energy and water."""
    now = utcnow()
    today = now.astimezone(TAIPEI).date()
    month_start = datetime.combine(today.replace(day=1), time(0), TAIPEI)
    cards = []
    for room in dorms.rooms(session):
        use = dorms.room_use(session, store, room=room, since=month_start, until=now)
        cards.append((service.room_read(session, room, on=today), use))
    context = {
        "who": who,
        "cards": cards,
        "today": today,
        "occupancy": service.occupancy_read(session, on=today),
    }
    return render(request, "dorm_board.html", context)
