"""Energy analytics: consumption from cumulative registers, rollups, EnPIs and weather-normalised baselines.

The user guide is docs/energy.md. Everything here reads readings through `cityhall.timeseries` (its
`AggregatingStore`: InfluxDB's v1 API, or the SQL readings table of the embedded default) and the asset
register through `cityhall.energy.register`; only `daily` writes (the InfluxDB rollups for dashboards).
"""
