"""InfluxDB through its v1 HTTP API: /write line protocol, /query InfluxQL (1.x, 2.x compat, 3.x)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from cityhall.contract import Reading
from cityhall.settings import Settings
from cityhall.timeseries import BucketStats, DeviceTags, Point, Series, StoreUnavailableError
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


def device_filter(devices: Sequence[str]) -> str:
    """An InfluxQL condition matching exactly these device codes (letters, digits, '.', '_', '-')."""
    alternatives = "|".join(code.replace(".", r"\.") for code in devices)
    return f'"device" =~ /^(?:{alternatives})$/'


def time_range(since: datetime, until: datetime) -> str:
    """The InfluxQL condition for [since, until)."""
    return f"time >= {quote_str(rfc3339(since))} AND time < {quote_str(rfc3339(until))}"


def group_by_time(bucket: timedelta) -> str:
    """`time(1d)`, `time(15m)`, ...: an InfluxQL duration literal for the bucket."""
    seconds = int(bucket.total_seconds())
    if seconds <= 0 or seconds != bucket.total_seconds():
        raise ValueError(f"a bucket is a whole number of seconds, not {bucket}")
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"time({seconds // size}{unit})"
    return f"time({seconds}s)"


def zone_clause(bucket: timedelta) -> str:
    """` tz('Asia/Taipei')` when the bucket's alignment depends on the zone (it does not divide 8 hours)."""
    return "" if timedelta(hours=8) % bucket == timedelta(0) else " tz('Asia/Taipei')"


def _utc_ms(t: int) -> datetime:
    return datetime.fromtimestamp(t / 1000, UTC)


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
        write_query = urlencode({"db": database, "precision": "ns", **self._auth_params})
        self._writes = _WriteConnections(url, f"/write?{write_query}", headers, timeout_s)

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
        """POST ready-made line protocol (ns timestamps), e.g. alarm events for Grafana annotations. Safe
        from several threads at once: each has its own connection."""
        status, answer = self._writes.post(body)
        if status >= 300:
            text = answer[:300].decode(errors="replace")
            raise StoreUnavailableError(f"InfluxDB write returned {status}: {text}")

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

    # The aggregates of AggregatingStore. Every identifier and literal below is quoted (quote_ident,
    # quote_str) or a device code matched by device_filter; InfluxQL has no bound parameters for these.
    def bucket_stats(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, list[BucketStats]]:
        """Per device, each bucket's first, last, lowest and highest reading, oldest bucket first."""
        if not devices:
            return {}
        q = (
            'SELECT first("value"), last("value"), min("value"), max("value") '  # noqa: S608
            f"FROM {quote_ident(quantity)} WHERE {time_range(since, until)} AND {device_filter(devices)} "
            f'GROUP BY {group_by_time(bucket)}, "device" fill(none){zone_clause(bucket)}'
        )
        return {
            s.get("tags", {}).get("device", ""): [
                BucketStats(_utc_ms(t), first, last, low, high) for t, first, last, low, high in s["values"]
            ]
            for s in self.query(q)
        }

    def bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, dict[datetime, float]]:
        """Per device, each bucket's mean reading."""
        if not devices:
            return {}
        q = (
            f'SELECT mean("value") FROM {quote_ident(quantity)} '  # noqa: S608
            f"WHERE {time_range(since, until)} AND {device_filter(devices)} "
            f'GROUP BY {group_by_time(bucket)}, "device" fill(none){zone_clause(bucket)}'
        )
        return {
            s.get("tags", {}).get("device", ""): {_utc_ms(t): float(value) for t, value in s["values"]}
            for s in self.query(q)
        }

    def peak_bucket_means(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime, bucket: timedelta
    ) -> dict[str, float]:
        """Per device, the highest of its bucket means: a subquery, so InfluxDB returns one row per device."""
        if not devices:
            return {}
        window = time_range(since, until)
        q = (
            f'SELECT max("mean") FROM (SELECT mean("value") FROM {quote_ident(quantity)} '  # noqa: S608
            f"WHERE {window} AND {device_filter(devices)} "
            f'GROUP BY {group_by_time(bucket)}, "device" fill(none){zone_clause(bucket)}) '
            f'WHERE {window} GROUP BY "device"'
        )
        out: dict[str, float] = {}
        for s in self.query(q):
            value = s["values"][0][1]
            if value is not None:
                out[s.get("tags", {}).get("device", "")] = float(value)
        return out

    def last_readings(
        self, *, quantity: str, devices: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, Point]:
        """Per device, its last reading in [since, until) with its time."""
        if not devices:
            return {}
        q = (
            f'SELECT last("value") FROM {quote_ident(quantity)} '  # noqa: S608
            f'WHERE {time_range(since, until)} AND {device_filter(devices)} GROUP BY "device"'
        )
        out: dict[str, Point] = {}
        for s in self.query(q):
            t, value = s["values"][0]
            out[s.get("tags", {}).get("device", "")] = (_utc_ms(t), value)
        return out

    def ping(self) -> bool:
        """True when InfluxDB answers /ping."""
        try:
            return self._client.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
        self._writes.close()


# What a kept-alive connection the server has closed meanwhile raises on reuse.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _WriteConnections:
    """Keep-alive connections for /write, one per writing thread, on the standard library's http.client:
    the collector's hot path, where httpx cost 2.5x the client CPU a point (bench/influx_write.py)."""

    def __init__(self, url: str, path: str, headers: Mapping[str, str], timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"influx_url: expected http(s)://host[:port][/prefix], got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + path
        self._headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
        self._timeout = timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it has been used before (and may have gone stale)."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        with self._lock:
            self._open.add(conn)
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            self._open.discard(conn)

    def post(self, body: bytes) -> tuple[int, bytes]:
        """(status, response body). A kept-alive connection the server closed meanwhile is reopened once
        (a write is idempotent: the same series and timestamps overwrite themselves)."""
        while True:
            conn, reused = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=self._headers)
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException) as err:
                self._drop(conn)
                if reused and isinstance(err, _STALE):
                    continue
                raise StoreUnavailableError(f"InfluxDB write failed: {err!r}") from err
            if resp.will_close:
                self._drop(conn)
            return resp.status, answer

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()
