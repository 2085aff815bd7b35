"""The alarms routes."""
