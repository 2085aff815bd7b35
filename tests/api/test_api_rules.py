"""Rules through the API: listed from both sources, validated as the engine loads them, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import AuditEntry
from rules.config import load_document
from rules.repository import RuleBook, load_definitions
from tests.api.api_testdata import AssetIds, AuthFor


def hot_office(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "key": "office-hot",
        "name": "Office above 28 degC",
        "kind": "threshold",
        "quantity": "temperature_c",
        "above": 28,
        "for_seconds": 300,
        "severity": "medium",
        "targets": {"buildings": ["YH-A"], "space_kinds": ["office"]},
    }
    return {**rule, **changes}


def error(resp: Any) -> tuple[str, list[Any]]:
    [item] = resp.json()["detail"]
    return item["type"], item.get("loc", [])


def test_create_read_replace_delete_with_audit(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, session_factory: sessionmaker[Session]
) -> None:
    fm = auth_for("fiona")
    created = client.post("/rules", json=hot_office(), headers=fm)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "api"
    assert created.json()["version"] == 1

    listed = client.get("/rules?kind=threshold&limit=500", headers=auth_for("chen")).json()
    shipped = [r for r in load_document()["rules"] if r["kind"] == "threshold"]
    assert listed["total"] == len(shipped) + 1
    assert [r["source"] for r in listed["items"]][-1] == "api"

    replaced = client.put(
        "/rules/office-hot", json=hot_office(above=29, key=None) | {"key": "office-hot"}, headers=fm
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["definition"]["above"], replaced.json()["version"]) == (29, 2)
    assert client.get("/rules/office-hot", headers=fm).json()["definition"]["above"] == 29

    assert client.delete("/rules/office-hot", headers=fm).status_code == 204
    assert client.get("/rules/office-hot", headers=fm).status_code == 404
    with session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "rule").order_by(AuditEntry.id)
        ).all()
    assert actions == ["create", "update", "delete"]


def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, auth_for: AuthFor, assets: AssetIds
) -> None:
    fm = auth_for("fiona")
    cases = [
        (hot_office(above=None, below=None), "invalid_rule", ["body"]),
        (hot_office(above=28, clear_below=30), "invalid_rule", ["body"]),
        (hot_office(quantity="watts"), "invalid_rule", ["body", "quantity"]),
        (hot_office(for_seconds=-5), "invalid_rule", ["body", "for_seconds"]),
        (hot_office(targets={"buildings": ["NOWHERE"]}), "invalid_rule", ["body", "targets", "buildings"]),
        (hot_office(targets={"devices": ["no-such-meter"]}), "invalid_rule", ["body", "targets", "devices"]),
        (hot_office(kind="after_hours", schedule="night-shift"), "unknown_schedule", ["body", "schedule"]),
        (hot_office(kind="sorcery"), "invalid_rule", ["body", "kind"]),
        (  # longer than the 6 h an offline rule is judged over
            {
                **{k: v for k, v in hot_office().items() if k != "above"},
                "kind": "offline",
                "for_seconds": 86400,
            },
            "invalid_rule",
            ["body", "for_seconds"],
        ),
    ]
    for body, kind, loc in cases:
        resp = client.post("/rules", json=body, headers=fm)
        assert resp.status_code == 422, (body, resp.text)
        assert error(resp) == (kind, loc), (body, resp.text)
    assert client.get("/rules/office-hot", headers=fm).status_code == 404  # nothing half-stored


def test_keys_are_one_namespace_and_file_rules_are_read_only(
    client: TestClient, auth_for: AuthFor, assets: AssetIds
) -> None:
    fm = auth_for("fiona")
    shipped = load_document()["rules"][0]["key"]
    taken = client.post("/rules", json=hot_office(key=shipped), headers=fm)
    assert (taken.status_code, error(taken)) == (409, ("rule_exists", ["body", "key"]))
    assert client.post("/rules", json=hot_office(), headers=fm).status_code == 201
    again = client.post("/rules", json=hot_office(), headers=fm)
    assert (again.status_code, error(again)) == (409, ("rule_exists", ["body", "key"]))
    assert client.get(f"/rules/{shipped}", headers=fm).json()["source"] == "file"
    for resp in (
        client.put(f"/rules/{shipped}", json=hot_office(key=shipped), headers=fm),
        client.delete(f"/rules/{shipped}", headers=fm),
    ):
        assert (resp.status_code, error(resp)) == (409, ("rule_in_file", ["path", "key"]))
    renamed = client.put("/rules/office-hot", json=hot_office(key="office-warm"), headers=fm)
    assert (renamed.status_code, error(renamed)) == (422, ("key_changed", ["body", "key"]))


def test_roles(client: TestClient, auth_for: AuthFor, assets: AssetIds) -> None:
    assert client.post("/rules", json=hot_office(), headers=auth_for("chen")).status_code == 403
    assert client.get("/rules", headers=auth_for("sam")).status_code == 403
    assert client.get("/rules", headers=auth_for("audrey")).status_code == 200
    names = [s["name"] for s in client.get("/rules/schedules", headers=auth_for("eric")).json()]
    assert names == sorted(load_document()["schedules"])


@pytest.fixture
def book(session_factory: sessionmaker[Session], tmp_path: Path) -> RuleBook:
    """A rule book over an empty rules file: what it holds was created through the API."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("schedules: {}\nrules: []\n", encoding="utf-8")
    return RuleBook(session_factory, rules_file)


def test_engines_take_up_rules_created_through_the_api(
    client: TestClient,
    auth_for: AuthFor,
    assets: AssetIds,
    session_factory: sessionmaker[Session],
    book: RuleBook,
) -> None:
    assert book.definitions == []
    assert book.refresh() is False  # nothing changed
    fm = auth_for("fiona")
    assert client.post("/rules", json=hot_office(), headers=fm).status_code == 201
    assert book.refresh() is True
    assert [d.key for d in book.definitions] == ["office-hot"]
    client.put("/rules/office-hot", json=hot_office(enabled=False), headers=fm)
    assert book.refresh() is True
    assert book.definitions[0].enabled is False
    with session_factory() as session:
        assert [d.key for d in load_definitions(session, book.path)] == ["office-hot"]


def test_every_engine_sharing_a_book_sees_every_change(
    client: TestClient, auth_for: AuthFor, assets: AssetIds, book: RuleBook
) -> None:
    # The demo's cycle runner and live evaluator share one book: the first to look must not hide the change.
    cycle_seen = live_seen = book.generation
    assert book.changed_since(cycle_seen) is None
    assert client.post("/rules", json=hot_office(), headers=auth_for("fiona")).status_code == 201
    for_cycle = book.changed_since(cycle_seen)
    assert for_cycle is not None
    cycle_seen = for_cycle[0]
    for_live = book.changed_since(live_seen)  # the book has already reloaded; the second engine still sees it
    assert for_live is not None
    assert [d.key for d in for_live[1]] == [d.key for d in for_cycle[1]] == ["office-hot"]
    assert book.changed_since(cycle_seen) is None
    assert book.changed_since(for_live[0]) is None
