"""Collector metrics, described once and exported on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("cityhall_collector_messages_received_total", "MQTT messages received")
WRITTEN = Counter("cityhall_collector_readings_written_total", "Readings durably written to the store")
DEAD_LETTERED = Counter(
    "cityhall_collector_dead_letters_total", "Messages kept as dead letters, by reason class", ["reason"]
)
WRITE_FAILURES = Counter(
    "cityhall_collector_write_failures_total", "Store writes that failed and were retried"
)
BATCH_SIZE = Histogram(
    "cityhall_collector_batch_readings", "Readings per store write", buckets=(1, 10, 50, 100, 500, 1000, 5000)
)
WRITE_SECONDS = Histogram("cityhall_collector_write_seconds", "Store write latency (s)")
LAG_SECONDS = Histogram(
    "cityhall_collector_lag_seconds",
    "Device timestamp to durable write (s)",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
QUEUE_DEPTH = Gauge(
    "cityhall_collector_queue_depth", "Messages received but not yet written and acknowledged"
)
CONNECTED = Gauge("cityhall_collector_broker_connected", "1 while connected to the MQTT broker")
SPOOLED = Counter("cityhall_collector_readings_spooled_total", "Readings appended to the on-disk spool")
DRAINED = Counter("cityhall_collector_readings_drained_total", "Spooled readings written to the store")
SPOOL_READINGS = Gauge("cityhall_collector_spool_readings", "Readings waiting in the spool")
SPOOL_FILL = Gauge("cityhall_collector_spool_fill_ratio", "Spool fill, 0..1 (alert above 0.8)")
STORE_UP = Gauge("cityhall_collector_store_up", "1 while the last store write succeeded")
QUARANTINED = Counter(
    "cityhall_collector_quarantined_total", "Messages from devices not (yet) in the asset register"
)
REPLAYED = Counter("cityhall_collector_replayed_total", "Quarantined messages replayed after registration")
UNREGISTERED_QUANTITIES = Counter(
    "cityhall_collector_unregistered_quantities_total",
    "Readings of quantities a Tasmota/Shelly device sent but is not registered for (dropped)",
)
