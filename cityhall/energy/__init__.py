"""Energy analytics: consumption from cumulative registers, rollups, EnPIs and weather-normalised baselines.

The user guide is docs/energy.md. Everything here reads readings through `cityhall.timeseries` (InfluxQL on
InfluxDB's v1 API) and the asset register through `cityhall.energy.register`; nothing here writes.
"""
