"""The alarm system's health (ISA-18.2, EEMUA 191): its API routes, the weekly report page, the service."""
