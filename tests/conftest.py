"""Fixtures shared by every test: throwaway services first, application fixtures below them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import servers

# --- services ---
# Real throwaway servers (ARCHITECTURE.md §3), never mocks. A missing service skips the test on a
# laptop and fails it under CI=true; scripts/install-system-deps.sh installs what is missing.

_INSTALL_HINT = "run scripts/install-system-deps.sh"

# Tests that use a service fixture get its marker, so `-m "not influx"` and the like select them.
_SERVICE_MARKERS = {"mosquitto": "mosquitto", "influx": "influx", "postgres_url": "postgres"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the services its fixtures start."""
    for item in items:
        fixturenames: list[str] = getattr(item, "fixturenames", [])
        for fixture, marker in _SERVICE_MARKERS.items():
            if fixture in fixturenames:
                item.add_marker(marker)


def _require_binary(name: str) -> None:
    if servers.find_binary(name) is None:
        servers.require_service(name, f"no {name} binary on this machine; {_INSTALL_HINT}")


def _require_postgres() -> None:
    if servers.postgres_url() is None:
        where = f"{servers.POSTGRES_HOST}:{servers.POSTGRES_PORT}"
        servers.require_service("PostgreSQL", f"no server answers on {where}; {_INSTALL_HINT}")


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[servers.MosquittoServer]:
    """A Mosquitto broker on a free port of 127.0.0.1, shared by the session."""
    _require_binary("mosquitto")
    with servers.MosquittoServer() as broker:
        yield broker


@pytest.fixture(scope="session")
def influx() -> Iterator[servers.InfluxServer]:
    """An InfluxDB 1.x server on a free port with the database `cityhall`, shared by the session."""
    _require_binary("influxd")
    with servers.InfluxServer() as server:
        server.create_database("cityhall")
        yield server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database for the session, dropped at the end."""
    _require_postgres()
    url = servers.fresh_postgres_database("cityhall_test")
    yield url
    servers.drop_postgres_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLAlchemy URL of an empty database for one test: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path_factory.mktemp('sqlite') / 'cityhall.db'}"
        return
    _require_postgres()
    url = servers.fresh_postgres_database("cityhall_test")
    yield url
    servers.drop_postgres_database(url)


# --- application ---


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own CITYHALL_DATA_DIR, so spools and SQLite files never land in the checkout."""
    monkeypatch.setenv("CITYHALL_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """A CLI command run in the test reads the environment the test set (`get_settings` is cached per
    process), and leaves no cached settings behind for the next test."""
    from cityhall.settings import get_settings  # noqa: PLC0415

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
