"""Notification metrics (Prometheus)."""

from __future__ import annotations

from prometheus_client import Counter

SENT = Counter("cityhall_notify_sent_total", "Notifications delivered", ["channel", "kind"])
FAILURES = Counter(
    "cityhall_notify_failures_total", "Failed delivery attempts (retried with backoff)", ["channel"]
)
GIVEN_UP = Counter(
    "cityhall_notify_given_up_total", "Notifications dropped after the last attempt", ["channel"]
)
HELD = Counter("cityhall_notify_held_total", "Notifications held by the rate limit for a digest", ["channel"])
DIGESTS = Counter("cityhall_notify_digests_total", "Digests built from held notifications", ["channel"])
CYCLE_ERRORS = Counter("cityhall_notify_cycle_errors_total", "Notification cycles that failed")
