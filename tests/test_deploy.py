"""Deployment artefacts: the compose file validates, the configuration docs are current, and the Prometheus
alert rules name exported metrics. The Grafana dashboards' queries are run in tests/energy/test_grafana_queries.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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


def test_prometheus_scrapes_every_process_and_loads_the_alerts() -> None:
    """The scrape targets are the compose services and ports that serve /metrics."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"api:8000", "collector:9100", "rules:9100"}
    for target in targets:
        service = compose["services"][target.split(":")[0]]
        port = target.split(":")[1]
        metrics_port = str(service.get("environment", {}).get("CITYHALL_METRICS_PORT", "8000"))
        assert metrics_port == port, target
    assert config["rule_files"] == ["alerts.yml"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["services"]["prometheus"]["volumes"]
