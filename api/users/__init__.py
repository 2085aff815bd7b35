"""The users routes."""
