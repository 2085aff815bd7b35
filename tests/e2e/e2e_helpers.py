"""Helpers the end-to-end tests share: signing in and reading lists (waiting is tests.waiting's,
publishing tests.publishing's)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def sign_in(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Bearer header for a user, through the OAuth2 password flow."""
    resp = client.post("/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def get_items(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The items of a paginated list."""
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items
