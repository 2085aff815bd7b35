"""The audit routes."""
