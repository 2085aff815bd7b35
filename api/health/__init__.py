"""The health routes."""
