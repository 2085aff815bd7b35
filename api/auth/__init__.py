"""The auth routes."""
