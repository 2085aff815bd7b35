"""Maintenance crews and preventive-maintenance schedules."""
