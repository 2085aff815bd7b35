"""Venue booking API: resources, bookings, approvals, citizen applications and calendar feeds."""
