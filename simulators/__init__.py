"""Simulated city-hall and dormitory devices publishing readings over MQTT."""
