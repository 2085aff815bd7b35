"""The collector: MQTT readings in, durable readings out (InfluxDB or the SQL table)."""
