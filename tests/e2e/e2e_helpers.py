"""Helpers the end-to-end tests share: waiting, signing in, publishing native payloads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from cityhall.contract import encode_native, readings_topic

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll until probe() returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


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


def publish_series(
    host: str, port: int, prefix: str, device: str, points: list[tuple[datetime, dict[str, float]]]
) -> None:
    """Publish native payloads with QoS 1 and wait until the broker has acknowledged every one."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{device}-{time.monotonic_ns()}")
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [
            client.publish(readings_topic(prefix, device), encode_native(device, ts, values), qos=1)
            for ts, values in points
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()
