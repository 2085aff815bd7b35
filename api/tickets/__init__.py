"""The tickets routes."""
