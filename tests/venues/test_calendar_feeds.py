"""iCalendar feeds parsed with `icalendar` and expanded with `recurring-ical-events`: RFC 5545 properties,
STATUS per booking state, SEQUENCE bumped on change, series with EXDATE, no personal data in public feeds."""

from __future__ import annotations

from datetime import date, timedelta

import recurring_ical_events
from fastapi.testclient import TestClient
from icalendar import Calendar, Event

from tests.api.api_testdata import AuthFor
from tests.venues.conftest import MakeResource, at


def events_of(body: bytes) -> list[Event]:
    """The VEVENTs of a feed, after checking the VCALENDAR's required properties."""
    cal = Calendar.from_ical(body)
    assert cal["VERSION"] == "2.0"
    assert "CityHall Ops" in str(cal["PRODID"])
    events = cal.events
    for event in events:
        for prop in ("UID", "DTSTAMP", "DTSTART", "SEQUENCE", "STATUS"):
            assert prop in event, prop
    return events


def test_personal_feed_follows_a_series_and_its_changes(
    client: TestClient, auth_for: AuthFor, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource(closed_on_holidays=False, opening_hours=None)
    series = client.post(
        "/venues/series",
        json={
            "resource_id": hall,
            "title": "Records seminar",
            "attendees": 20,
            "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "dtstart": at(day, 7).isoformat(),  # 07:00 Taipei is Monday 23:00 UTC: BYDAY must stay local
            "duration_minutes": 60,
        },
        headers=auth_for("sam"),
    ).json()
    single = client.post(
        "/venues/bookings",
        json={
            "resource_id": hall,
            "title": "Budget review",
            "starts_at": at(day, 14).isoformat(),
            "ends_at": at(day, 15).isoformat(),
            "attendees": 5,
        },
        headers=auth_for("sam"),
    ).json()
    feed_url = client.post("/venues/feed", headers=auth_for("sam")).json()["feed_url"]
    path = feed_url.removeprefix("http://testserver")
    before = Calendar.from_ical(client.get(path).content)
    assert len(recurring_ical_events.of(before).between(at(day, 0), at(day + timedelta(weeks=5), 0))) == 5

    second = series["bookings"][1]["id"]
    assert client.post(f"/venues/bookings/{second}/cancel", headers=auth_for("sam")).status_code == 200
    assert client.post(f"/venues/bookings/{single['id']}/cancel", headers=auth_for("sam")).status_code == 200
    response = client.get(path)  # no sign-in: the key in the URL is the credential
    assert response.headers["content-type"].startswith("text/calendar")
    events = events_of(response.content)
    by_uid = {str(e["UID"]): e for e in events}
    master = by_uid[f"series-{series['series_id']}@venues.cityhall.tainan.gov.tw"]
    assert master.rrules[0]["BYDAY"] == ["TU"]
    assert master.sequence >= 1
    assert master.status == "CONFIRMED"
    cancelled = by_uid[f"booking-{single['id']}@venues.cityhall.tainan.gov.tw"]
    assert (cancelled.status, cancelled.sequence) == ("CANCELLED", 1)

    expanded = recurring_ical_events.of(Calendar.from_ical(response.content)).between(
        at(day, 0), at(day + timedelta(weeks=5), 0)
    )
    seminars = sorted(e["DTSTART"].dt for e in expanded if str(e["SUMMARY"]) == "Records seminar")
    assert seminars == [at(day, 7), at(day + timedelta(weeks=2), 7), at(day + timedelta(weeks=3), 7)]
    assert all(d.weekday() == 1 for d in seminars)
    assert client.get("/venues/feeds/not-a-key.ics").status_code == 404


def test_public_resource_feed_has_no_personal_data(
    client: TestClient, make_resource: MakeResource, day: date
) -> None:
    hall = make_resource()
    internal = make_resource(audience="internal")
    applied = client.post(
        "/venues/public/applications",
        json={
            "resource_id": hall,
            "title": "Lin family wedding banquet",
            "starts_at": at(day, 11).isoformat(),
            "ends_at": at(day, 14).isoformat(),
            "attendees": 80,
            "name": "Lin Mei",
            "email": "mei@example.tw",
            "phone": "0912345678",
        },
    ).json()
    body = client.get(f"/venues/public/resources/{hall}/calendar.ics").content
    (event,) = events_of(body)
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["SUMMARY"]) == "Requested (awaiting approval)"
    text = body.decode()
    for private in ("Lin", "wedding", "mei@example.tw", "0912345678"):
        assert private not in text
    own = client.get(applied["feed_url"].removeprefix("http://testserver")).content
    assert "Lin family wedding banquet" in own.decode()
    assert client.get(f"/venues/public/resources/{internal}/calendar.ics").status_code == 404
