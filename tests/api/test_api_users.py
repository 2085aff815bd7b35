"""User administration: admin only, audited, secrets never echoed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import AuditEntry, User
from tests.api.api_testdata import PEOPLE, AuthFor

NEW_PASSWORD = "a-long-enough-passphrase"


def test_list_users_is_paginated_and_admin_only(client: TestClient, auth_for: AuthFor) -> None:
    """Admins page through accounts by username; staff get 403."""
    page = client.get("/users", params={"limit": 3, "offset": 2}, headers=auth_for("ada")).json()
    assert (page["total"], page["limit"], page["offset"]) == (len(PEOPLE), 3, 2)
    assert [u["username"] for u in page["items"]] == sorted(PEOPLE)[2:5]
    assert "password_hash" not in page["items"][0]
    assert client.get("/users", headers=auth_for("sam")).status_code == 403
    assert client.get("/users/1", headers=auth_for("fiona")).status_code == 403


def test_create_update_and_sign_in(
    client: TestClient, auth_for: AuthFor, session_factory: sessionmaker[Session]
) -> None:
    """A new account signs in; a role change and a deactivation are audited without the password hash."""
    admin = auth_for("ada")
    created = client.post(
        "/users",
        json={"username": "lin", "full_name": "Lin Mei", "role": "staff", "password": NEW_PASSWORD},
        headers=admin,
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert created.json()["is_active"] is True
    duplicate = client.post(
        "/users",
        json={"username": "lin", "full_name": "Other Lin", "role": "staff", "password": NEW_PASSWORD},
        headers=admin,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"][0]["loc"] == ["body", "username"]

    token = client.post("/auth/token", data={"username": "lin", "password": NEW_PASSWORD}).json()[
        "access_token"
    ]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "staff"

    promoted = client.patch(f"/users/{user_id}", json={"role": "facility_manager"}, headers=admin)
    assert promoted.json()["role"] == "facility_manager"
    assert client.get("/dead-letters", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.patch(
        f"/users/{user_id}", json={"is_active": False, "password": "another-long-passphrase"}, headers=admin
    )
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    with session_factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "user").order_by(AuditEntry.id)
        ).all()
        user = session.get(User, user_id)
        assert user is not None
        assert user.password_hash.startswith("$argon2")
    assert [e.action for e in entries] == ["create", "update", "update"]
    assert all(e.actor == "user:ada" for e in entries)
    assert entries[1].before is not None
    assert entries[1].after is not None
    assert (entries[1].before["role"], entries[1].after["role"]) == ("staff", "facility_manager")
    assert entries[2].after is not None
    assert entries[2].after["password_changed"] is True
    assert all("password_hash" not in (e.after or {}) for e in entries)


def test_validation_errors_do_not_echo_the_password(client: TestClient, auth_for: AuthFor) -> None:
    """A too-short password is a 422 naming the field, and the password is not sent back."""
    response = client.post(
        "/users",
        json={"username": "kuo", "full_name": "Kuo", "role": "staff", "password": "short-pw"},
        headers=auth_for("ada"),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert "short-pw" not in response.text
    bad_role = client.post(
        "/users",
        json={"username": "kuo", "full_name": "Kuo", "role": "mayor", "password": NEW_PASSWORD},
        headers=auth_for("ada"),
    )
    assert bad_role.json()["detail"][0]["loc"] == ["body", "role"]


def test_unknown_user_is_404(client: TestClient, auth_for: AuthFor) -> None:
    """Reading or changing a missing account is a 404 naming the id."""
    for response in (
        client.get("/users/5555", headers=auth_for("ada")),
        client.patch("/users/5555", json={"is_active": False}, headers=auth_for("ada")),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == [
            {"msg": "no user 5555", "type": "user_not_found", "loc": ["path", "user_id"]}
        ]
