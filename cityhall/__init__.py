"""CityHall Ops shared core: settings, data model, payload contract and storage adapters."""

__version__ = "0.1.0"
