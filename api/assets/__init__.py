"""The assets routes."""
