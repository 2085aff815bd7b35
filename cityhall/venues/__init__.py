"""Venue booking and dormitories: pure rules (`rules`, `recurrence`), the booking service (`booking`),
iCalendar feeds (`calendar`), reports (`reports`) and dormitory upkeep (`dorms`). See docs/venues.md."""
