"""Authentication: the OAuth2 password flow, bearer tokens, service API keys and their revocation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import ApiKey, AuditEntry, User
from cityhall.security import create_access_token
from tests.api.api_testdata import JWT_SECRET, PASSWORD, AuthFor


def test_token_flow_issues_a_token_that_identifies_the_user(
    client: TestClient, people: dict[str, int]
) -> None:
    """The right password yields a bearer token that /auth/me resolves to the user."""
    response = client.post("/auth/token", data={"username": "fiona", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "kind": "user",
        "id": people["fiona"],
        "name": "fiona",
        "role": "facility_manager",
        "actor": "user:fiona",
    }


def test_wrong_password_and_unknown_user_get_the_same_401(client: TestClient, people: dict[str, int]) -> None:
    """Neither a wrong password nor an unknown username reveals which one was wrong."""
    wrong = client.post("/auth/token", data={"username": "fiona", "password": "not-her-password"})
    unknown = client.post("/auth/token", data={"username": "nobody", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {
            "detail": [{"msg": "incorrect username or password", "type": "invalid_credentials"}]
        }


def test_inactive_user_cannot_sign_in_nor_use_an_old_token(
    client: TestClient, session_factory: sessionmaker[Session], auth_for: AuthFor
) -> None:
    """Deactivating an account locks out both new sign-ins and tokens issued before."""
    headers = auth_for("sam")
    assert client.get("/auth/me", headers=headers).status_code == 200
    with session_factory.begin() as session:
        session.scalars(select(User).where(User.username == "sam")).one().is_active = False
    assert client.post("/auth/token", data={"username": "sam", "password": PASSWORD}).status_code == 401
    response = client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "invalid_token"


def test_missing_forged_and_expired_credentials_are_401(client: TestClient, people: dict[str, int]) -> None:
    """No credentials, a token signed with another key, and an expired token are all refused."""
    missing = client.get("/tickets")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["detail"][0]["type"] == "not_authenticated"

    forged = create_access_token(subject=str(people["ada"]), role="admin", secret="other" * 10, minutes=5)
    expired = create_access_token(subject=str(people["ada"]), role="admin", secret=JWT_SECRET, minutes=-1)
    for token in (forged, expired, "not-a-jwt"):
        response = client.get("/users", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"][0]["type"] == "invalid_token"


def test_role_comes_from_the_database_not_the_token(client: TestClient, people: dict[str, int]) -> None:
    """A staff member who edits the role claim in a token still is staff."""
    token = create_access_token(subject=str(people["sam"]), role="admin", secret=JWT_SECRET, minutes=5)
    response = client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_api_key_authenticates_a_service_until_revoked(
    client: TestClient, session_factory: sessionmaker[Session], auth_for: AuthFor, people: dict[str, int]
) -> None:
    """An admin issues a key shown once; the service uses it; after revocation it is refused."""
    created = client.post("/api-keys", json={"name": "collector"}, headers=auth_for("ada"))
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith(f"cho_{body['prefix']}_")
    assert body["role"] == "service"
    assert body["created_by_id"] == people["ada"]

    with session_factory() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.name == "collector")).one()
        assert key not in row.key_sha256  # only the digest is stored
        audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "api_key")).one()
        assert audit.actor == "user:ada"
        assert audit.after is not None
        assert "key_sha256" not in audit.after

    me = client.get("/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["actor"] == "apikey:collector"
    assert me.json()["kind"] == "api_key"
    assert client.get("/sites", headers={"X-API-Key": key}).status_code == 200
    # A service key reads the register but is not admitted to people's routes.
    assert client.get("/tickets", headers={"X-API-Key": key}).status_code == 403

    listed = client.get("/api-keys", headers=auth_for("ada")).json()
    assert listed["total"] == 1
    assert "key" not in listed["items"][0]
    assert "key_sha256" not in listed["items"][0]

    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get("/auth/me", headers={"X-API-Key": tampered}).status_code == 401
    assert client.get("/auth/me", headers={"X-API-Key": "cho_nope"}).status_code == 401

    revoked = client.post(f"/api-keys/{body['id']}/revoke", headers=auth_for("ada"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = client.get("/auth/me", headers={"X-API-Key": key})
    assert after.status_code == 401
    assert after.json()["detail"][0]["type"] == "revoked_api_key"
    again = client.post(f"/api-keys/{body['id']}/revoke", headers=auth_for("ada"))
    assert again.status_code == 409
    assert client.post("/api-keys/9999/revoke", headers=auth_for("ada")).status_code == 404
