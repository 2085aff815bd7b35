"""InfluxDB through its v1 HTTP API: /write line protocol, /query InfluxQL (1.x, 2.x compat, 3.x)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from cityhall.contract import Reading
from cityhall.settings import Settings
from cityhall.timeseries import DeviceTags, Series, StoreUnavailableError
from cityhall.timeseries.lineprotocol import encode


class InfluxQueryError(Exception):
    """InfluxDB answered a query with an error (a bad query, not an outage)."""


def quote_ident(name: str) -> str:
    """Quote an InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_str(value: str) -> str:
    """Quote an InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rfc3339(ts: datetime) -> str:
    """A timestamp literal InfluxQL accepts."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class InfluxStore:
    """Reading store on InfluxDB's v1 HTTP API."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self._auth_params = {"u": username, "p": password} if username else {}
        self.database = database
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> InfluxStore:
        """Build from CITYHALL_INFLUX_* settings."""
        return cls(
            settings.influx_url,
            settings.influx_database,
            username=settings.influx_username,
            password=settings.influx_password.get_secret_value(),
            token=settings.influx_token.get_secret_value(),
            timeout_s=settings.collector_store_timeout_seconds,
        )

    def write(self, readings: Sequence[Reading], tags: Mapping[str, DeviceTags]) -> None:
        """POST line protocol; a 2xx means InfluxDB has the points in its WAL."""
        if readings:
            self.write_lines(encode(readings, tags))

    def write_lines(self, body: bytes) -> None:
        """POST ready-made line protocol (ns timestamps), e.g. alarm events for Grafana annotations."""
        try:
            resp = self._client.post(
                "/write",
                params={"db": self.database, "precision": "ns", **self._auth_params},
                content=body,
            )
        except httpx.HTTPError as err:
            raise StoreUnavailableError(f"InfluxDB write failed: {err}") from err
        if resp.status_code >= 300:
            raise StoreUnavailableError(f"InfluxDB write returned {resp.status_code}: {resp.text[:300]}")

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; return its series (name, tags, columns, values), epoch ms times."""
        try:
            resp = self._client.post(
                "/query",
                params={"db": self.database, "epoch": "ms", **self._auth_params},
                data={"q": influxql},
            )
        except httpx.HTTPError as err:
            raise StoreUnavailableError(f"InfluxDB query failed: {err}") from err
        if resp.status_code >= 500:
            raise StoreUnavailableError(f"InfluxDB query returned {resp.status_code}")
        body = resp.json()
        if "error" in body:
            raise InfluxQueryError(body["error"])
        result = body.get("results", [{}])[0]
        if "error" in result:
            raise InfluxQueryError(result["error"])
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def window(
        self, *, quantity: str, since: datetime, until: datetime, devices: Sequence[str] | None = None
    ) -> Series:
        """Readings of one quantity per device in [since, until], oldest first."""
        where = f"time >= {quote_str(rfc3339(since))} AND time <= {quote_str(rfc3339(until))}"
        if devices is not None:
            if not devices:
                return {}
            where += " AND (" + " OR ".join(f'"device" = {quote_str(d)}' for d in devices) + ")"
        # Every identifier and literal is quoted above; InfluxQL has no bound parameters for these. The device
        # tag comes back as a column of one time-ordered series: cheaper for InfluxDB than GROUP BY "device"
        # over thousands of series (the rules cycle's read, docs/benchmarks.md).
        q = f'SELECT "value", "device" FROM {quote_ident(quantity)} WHERE {where}'  # noqa: S608
        out: Series = {}
        for s in self.query(q):
            value_at, device_at = s["columns"].index("value"), s["columns"].index("device")
            for row in s["values"]:
                point = (datetime.fromtimestamp(row[0] / 1000, UTC), float(row[value_at]))
                device = row[device_at] or ""
                points = out.get(device)
                if points is None:
                    out[device] = [point]
                else:
                    points.append(point)
        return out

    def ping(self) -> bool:
        """True when InfluxDB answers /ping."""
        try:
            return self._client.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
