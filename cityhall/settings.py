"""One settings object for every process, read from CITYHALL_* environment variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values shipped in .env.example and docs; a process outside demo mode refuses to start with any of them.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev-secret-not-for-production"})
DEV_JWT_SECRET = "dev-secret-not-for-production"  # noqa: S105 - demo only, refused outside demo
# Device payload formats the collector can decode (collector.payloads has one decoder per name).
COLLECTOR_FORMATS = ("native", "tasmota", "shelly_gen2")


def parse_pairs(value: str) -> dict[str, str]:
    """Parse `key=value,key=value` (blanks ignored); raise ValueError on an item without `=`."""
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise ValueError(f"{item.strip()!r} is not key=value")
        pairs[key.strip()] = val.strip()
    return pairs


class SettingsError(ValueError):
    """Raised when the configuration cannot run a production process."""


class Settings(BaseSettings):
    """Configuration shared by api, collector, rules and simulators."""

    model_config = SettingsConfigDict(env_prefix="CITYHALL_", env_file=".env", extra="ignore")

    demo: bool = Field(False, description="Demo mode: placeholder secrets allowed, embedded defaults")
    data_dir: Path = Field(Path("data"), description="Directory for the SQLite file, spool and run artefacts")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at <data_dir>/cityhall.db")
    timezone: str = Field("Asia/Taipei", description="Time zone shown to people (storage is UTC)")

    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), description="HMAC key for access tokens")
    access_token_minutes: int = Field(30, ge=1, le=24 * 60, description="Lifetime of an access token")

    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_username: str = Field("", description="MQTT username (empty: anonymous)")
    mqtt_password: SecretStr = Field(SecretStr(""), description="MQTT password")
    mqtt_protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version (3.1.1 for amqtt)")
    mqtt_tls: bool = Field(
        False, description="Connect to the broker over TLS (usually port 8883), verifying its certificate"
    )
    mqtt_tls_ca_file: str = Field(
        "",
        description="PEM file of the CA that signed the broker's certificate (with CITYHALL_MQTT_TLS); "
        "empty: the system's trust store",
    )
    mqtt_topic_prefix: str = Field("cityhall/v1", description="Prefix of every topic we publish or read")
    mqtt_share_group: str = Field("", description="Shared-subscription group; empty subscribes directly")
    mqtt_client_id: str = Field("", description="Stable client id for a persistent session; empty: derived")

    influx_url: str = Field("", description="InfluxDB base URL (v1 HTTP API); empty stores readings in SQL")
    influx_database: str = Field("cityhall", description="InfluxDB 1.x database or 2.x/3.x bucket name")
    influx_username: str = Field("", description="InfluxDB 1.x username")
    influx_password: SecretStr = Field(SecretStr(""), description="InfluxDB 1.x password")
    influx_token: SecretStr = Field(
        SecretStr(""), description="InfluxDB 2.x/3.x token (v1 compatibility API)"
    )
    asset_register_file: str = Field(
        "",
        description="The asset document (YAML or CSV, docs/assets.md) last imported; energy figures, targets "
        "and reports take departments and virtual meters from it. Empty: the bundled seed register",
    )
    energy_rollup_days: int = Field(
        7,
        ge=2,
        le=366,
        description="Local days of daily register rollups (docs/energy.md) the housekeeping loop rebuilds "
        "once an hour, for readings drained late; yesterday and today are rebuilt on every pass",
    )
    energy_weather_device: str = Field(
        "",
        description="Outdoor temperature sensor (device code; its temperature_c readings) for cooling "
        "degree-days and the weather-normalised baselines of committee reports (docs/reports.md); "
        "empty: none",
    )
    reports_schedule: bool = Field(
        True,
        description="On each housekeeping pass, generate and store the last month's and last quarter's "
        "committee reports if they are not stored yet (needs CITYHALL_INFLUX_URL)",
    )

    collector_batch_size: int = Field(2000, ge=1, le=100_000, description="Readings per write batch")
    collector_flush_seconds: float = Field(
        1.0, gt=0, le=60, description="Longest wait before a batch is written"
    )
    collector_formats: str = Field(
        ",".join(COLLECTOR_FORMATS),
        description="Device payload formats the collector subscribes to and decodes, comma-separated: "
        "native, tasmota, shelly_gen2 (docs/mqtt.md)",
    )
    collector_device_timezone: str = Field(
        "Asia/Taipei", description="Zone of device clocks that send local time without an offset (Tasmota)"
    )
    collector_spool_max_readings: int = Field(
        5_000_000, ge=1000, description="Readings the on-disk spool holds while the store is down"
    )
    collector_store_timeout_seconds: float = Field(
        5.0, gt=0, le=120, description="Longest wait for one store write before spooling the batch"
    )
    collector_replay_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often quarantined messages of newly registered devices are replayed",
    )
    collector_unhealthy_after_seconds: float = Field(
        60.0, gt=0, description="Health turns unhealthy when the store has been unreachable this long"
    )

    rules_file: Path | None = Field(
        None, description="YAML rule definitions; empty uses the shipped defaults"
    )
    rules_interval_seconds: float = Field(10.0, gt=0, le=3600, description="Seconds between rule evaluations")
    rules_lookback_minutes: int = Field(
        30, ge=1, le=24 * 60, description="Window of readings each cycle reads"
    )
    rules_live: bool = Field(
        True, description="Judge threshold and rate-of-change rules on each reading from MQTT, not per cycle"
    )
    rules_partition: str = Field(
        "1/1",
        pattern=r"^[1-9][0-9]*/[1-9][0-9]*$",
        description="Live rules: this engine's share of the devices, k/n (engine k of n by device code)",
    )

    smtp_host: str = Field("", description="SMTP server for notification e-mail; empty turns e-mail off")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port (587 with STARTTLS)")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before login")
    smtp_username: str = Field("", description="SMTP login (empty: no login)")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password")
    smtp_from: str = Field("CityHall Ops <cityhall-ops@localhost>", description="From address of e-mail")
    smtp_timeout_seconds: float = Field(10.0, gt=0, le=120, description="Longest wait for the SMTP server")

    notify_webhook_urls: str = Field(
        "",
        description="Webhook per role, comma-separated role=URL pairs "
        "(e.g. facility_manager=https://hooks.example/fm); empty turns webhooks off",
    )
    notify_webhook_secret: SecretStr = Field(
        SecretStr(""), description="Shared secret of the webhooks' HMAC-SHA256 signature"
    )
    notify_webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Longest wait for one webhook request"
    )
    notify_repeat_minutes: str = Field(
        "low=0,medium=120,high=30,critical=15",
        description="Re-notify an unacknowledged active alarm this often, per severity (0: never)",
    )
    notify_rate_limit_count: int = Field(
        5, ge=1, le=1000, description="Notifications per audience and channel in one window; the rest wait"
    )
    notify_rate_limit_window_minutes: int = Field(
        5,
        ge=1,
        le=24 * 60,
        description="Rate-limit window; held notifications go out as one digest at its end",
    )
    notify_horizon_minutes: int = Field(
        60, ge=1, le=7 * 24 * 60, description="Events older than this when first seen are not notified"
    )
    notify_max_attempts: int = Field(
        8, ge=1, le=100, description="Tries per notification before it is given up (backoff between tries)"
    )

    api_host: str = Field("127.0.0.1", description="Address the API binds")
    api_port: int = Field(8000, ge=0, le=65535, description="Port the API binds")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus port for collector/rules (0: off)")
    log_format: Literal["json", "console"] = Field("console", description="Structured log rendering")
    log_level: str = Field("INFO", description="Log level")

    @field_validator("mqtt_tls_ca_file")
    @classmethod
    def _ca_file_readable(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("collector_formats")
    @classmethod
    def _known_formats(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - set(COLLECTOR_FORMATS))
        if unknown or not names:
            choices = ", ".join(COLLECTOR_FORMATS)
            raise ValueError(f"unknown format(s) {unknown or value!r}; choose from {choices}")
        return ",".join(dict.fromkeys(names))  # normalised: no blanks, no repeats, order kept

    @field_validator("collector_device_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Taipei") from err
        return value

    @field_validator("notify_repeat_minutes")
    @classmethod
    def _repeat_per_severity(cls, value: str) -> str:
        pairs = parse_pairs(value)
        severities = {"low", "medium", "high", "critical"}
        unknown = sorted(set(pairs) - severities)
        if unknown:
            raise ValueError(f"unknown severity {unknown}; use {', '.join(sorted(severities))}")
        for severity, minutes in pairs.items():
            if not minutes.isdigit():
                raise ValueError(f"{severity}={minutes!r}: minutes must be a whole number >= 0")
        return value

    @field_validator("notify_webhook_urls")
    @classmethod
    def _pairs(cls, value: str) -> str:
        parse_pairs(value)
        return value

    @property
    def notify_webhook_url_map(self) -> dict[str, str]:
        """CITYHALL_NOTIFY_WEBHOOK_URLS as {role: URL}."""
        return parse_pairs(self.notify_webhook_urls)

    @property
    def notify_repeat_minutes_map(self) -> dict[str, int]:
        """CITYHALL_NOTIFY_REPEAT_MINUTES as {severity: minutes}; a severity left out never repeats."""
        return {key: int(minutes) for key, minutes in parse_pairs(self.notify_repeat_minutes).items()}

    @property
    def rules_partition_pair(self) -> tuple[int, int]:
        """CITYHALL_RULES_PARTITION as (index from 0, count)."""
        k, n = (int(part) for part in self.rules_partition.split("/"))
        return k - 1, n

    @property
    def collector_format_names(self) -> tuple[str, ...]:
        """CITYHALL_COLLECTOR_FORMATS as a tuple of format names."""
        return tuple(self.collector_formats.split(","))

    @field_validator("rules_partition")
    @classmethod
    def _partition_in_range(cls, value: str) -> str:
        k, n = (int(part) for part in value.split("/"))
        if k > n:
            raise ValueError(f"engine {k} of {n}: k must be between 1 and n")
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'cityhall.db'}"
        return self

    def check_production(self) -> None:
        """Refuse placeholder secrets outside demo mode."""
        if self.demo:
            return
        if self.jwt_secret.get_secret_value() in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 32:
            raise SettingsError(
                "CITYHALL_JWT_SECRET is a placeholder or shorter than 32 characters; "
                "set a random value (python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "or run in demo mode (CITYHALL_DEMO=true)"
            )
        if self.influx_url:
            for name, secret in (("PASSWORD", self.influx_password), ("TOKEN", self.influx_token)):
                if secret.get_secret_value() in PLACEHOLDER_SECRETS - {""}:
                    raise SettingsError(f"CITYHALL_INFLUX_{name} is a placeholder")
        if self.notify_webhook_urls and (
            self.notify_webhook_secret.get_secret_value() in PLACEHOLDER_SECRETS
            or len(self.notify_webhook_secret) < 32
        ):
            raise SettingsError(
                "CITYHALL_NOTIFY_WEBHOOK_SECRET is a placeholder or shorter than 32 characters; "
                "webhooks need a random shared secret"
            )
        if self.mqtt_username and self.mqtt_password.get_secret_value() in PLACEHOLDER_SECRETS:
            raise SettingsError("CITYHALL_MQTT_PASSWORD is a placeholder")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
