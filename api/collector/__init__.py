"""The collector routes."""
