"""Dormitory rooms: assignments, housekeeping, inspections, repairs, occupancy and each room's meters."""
