"""The CityHall Ops HTTP API (FastAPI): assets, alarms, tickets, users and the audit log."""
