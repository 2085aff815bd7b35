"""Deployment artefacts: the compose file validates, the configuration docs are current, and every
Grafana panel query runs against real InfluxDB and PostgreSQL (no Grafana binary can run here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from cityhall.contract import Reading
from cityhall.db import make_engine
from cityhall.migrate import upgrade
from cityhall.timeseries.influx import InfluxStore
from tests import servers

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_SECRETS = [
    "CITYHALL_JWT_SECRET",
    "POSTGRES_PASSWORD",
    "INFLUXDB_ADMIN_PASSWORD",
    "INFLUXDB_ADMIN_TOKEN",
    "GRAFANA_ADMIN_PASSWORD",
    "MQTT_COLLECTOR_PASSWORD",
    "MQTT_RULES_PASSWORD",
    "MQTT_DEVICE_PASSWORD",
]


def _compose(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        servers.require_service("docker-compose", "run scripts/install-system-deps.sh")
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_compose_file_validates() -> None:
    result = _compose(dict.fromkeys(COMPOSE_SECRETS, "s3cret-value"))
    assert result.returncode == 0, result.stderr


def test_compose_refuses_a_missing_secret() -> None:
    env = dict.fromkeys(COMPOSE_SECRETS, "s3cret-value")
    del env["POSTGRES_PASSWORD"]
    result = _compose(env)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_configuration_docs_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_config_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _panel_queries() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                kind = target["datasource"]["type"]
                query = target.get("query") or target.get("rawSql")
                out.append((f"{path.name}:{panel['title']}", kind, query))
    return out


def test_datasources_are_provisioned_for_every_panel() -> None:
    doc = yaml.safe_load((ROOT / "grafana/provisioning/datasources/datasources.yaml").read_text())
    uids = {ds["uid"]: ds for ds in doc["datasources"]}
    for path in (ROOT / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] in uids, panel["title"]
    influx = next(ds for ds in uids.values() if ds["type"] == "influxdb")
    assert influx["jsonData"].get("version", "InfluxQL") == "InfluxQL"


def _grafana_influx_macros(query: str, start: datetime, end: datetime) -> str:
    """Substitute the macros Grafana expands in InfluxQL, as it does before sending the query."""
    time_filter = f"time >= {int(start.timestamp() * 1000)}ms AND time <= {int(end.timestamp() * 1000)}ms"
    return query.replace("$timeFilter", time_filter).replace("$__interval", "1m")


def test_every_panel_query_runs(influx: servers.InfluxServer, postgres_url: str) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(hours=1)
    influx.create_database("grafana")
    store = InfluxStore(influx.url, "grafana")
    store.write(
        [Reading("YH-A-EM-MAIN", "power_kw", start + timedelta(minutes=i), 800.0 + i) for i in range(60)],
        {"YH-A-EM-MAIN": {"building": "YH-A", "site": "YH"}},
    )
    engine = make_engine(postgres_url)
    upgrade(engine)
    queries = _panel_queries()
    assert queries
    for name, kind, query in queries:
        if kind == "influxdb":
            series: list[dict[str, Any]] = store.query(_grafana_influx_macros(query, start, end))
            assert series, f"{name}: no rows"
            assert all(len(row) == len(s["columns"]) for s in series for row in s["values"]), name
            if re.search(r'GROUP BY .*"building"', query):
                assert {s["tags"]["building"] for s in series} == {"YH-A"}, name
        else:
            with engine.connect() as conn:
                result = conn.execute(text(query))
                assert result.keys(), name
                result.fetchall()
    store.close()
    engine.dispose()


def test_alert_rules_name_only_exported_metrics() -> None:
    """An alert on a metric that no process exports would never fire; check every name against the code."""
    from prometheus_client import REGISTRY  # noqa: PLC0415

    import collector.metrics  # noqa: F401, PLC0415 - registers the collector's metrics
    import rules.metrics  # noqa: F401, PLC0415

    exported = set()
    for family in REGISTRY.collect():
        # A labelled counter has no samples until first used; its exposed name still ends in _total.
        exported |= {sample.name for sample in family.samples}
        if family.type == "counter":
            exported.add(f"{family.name}_total")
    doc = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    names = {
        name
        for group in doc["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bcityhall_[a-z_]+", rule["expr"])
    }
    assert names
    missing = sorted(name for name in names if name not in exported)
    assert missing == []
