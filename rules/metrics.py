"""Rules-engine metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CYCLES = Counter("cityhall_rules_cycles_total", "Evaluation cycles run")
CYCLE_SECONDS = Histogram("cityhall_rules_cycle_seconds", "Duration of one evaluation cycle (s)")
EVALUATIONS = Counter("cityhall_rules_evaluations_total", "Rule x device evaluations", ["status"])
ALARMS = Counter("cityhall_rules_alarm_transitions_total", "Alarms raised or cleared", ["transition"])
ERRORS = Counter("cityhall_rules_cycle_errors_total", "Cycles that failed (store or database unavailable)")
