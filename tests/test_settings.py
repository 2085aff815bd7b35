"""Settings: environment variables with the CITYHALL_ prefix; placeholder secrets refused outside demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from cityhall.settings import Settings, SettingsError


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYHALL_MQTT_PORT", "18830")
    monkeypatch.setenv("CITYHALL_INFLUX_URL", "http://127.0.0.1:8086")
    settings = Settings()
    assert settings.mqtt_port == 18830
    assert settings.influx_url == "http://127.0.0.1:8086"


def test_sqlite_default_lives_in_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path / 'cityhall.db'}"


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYHALL_MQTT_PORT", "70000")
    with pytest.raises(ValueError, match="mqtt_port"):
        Settings()


@pytest.mark.parametrize("secret", ["changeme", "dev-secret-not-for-production", "short"])
def test_placeholder_jwt_secret_refused_outside_demo(secret: str) -> None:
    with pytest.raises(SettingsError, match="CITYHALL_JWT_SECRET"):
        Settings(jwt_secret=SecretStr(secret)).check_production()
    Settings(jwt_secret=SecretStr(secret), demo=True).check_production()  # demo mode accepts it


def test_placeholder_mqtt_password_refused() -> None:
    settings = Settings(
        jwt_secret=SecretStr("x" * 40), mqtt_username="collector", mqtt_password=SecretStr("changeme")
    )
    with pytest.raises(SettingsError, match="CITYHALL_MQTT_PASSWORD"):
        settings.check_production()


def test_real_secret_accepted() -> None:
    Settings(jwt_secret=SecretStr("k3U0f0sL0v0nAq8wHq0aV8d7Jm2Yb1Zc4Xe5")).check_production()


@pytest.mark.parametrize("field", ["influx_password", "influx_token"])
def test_placeholder_influx_credentials_refused(field: str) -> None:
    settings = Settings.model_validate(
        {"jwt_secret": "x" * 40, "influx_url": "http://influxdb:8086", field: "changeme"}
    )
    with pytest.raises(SettingsError, match=f"CITYHALL_{field.upper()}"):
        settings.check_production()
