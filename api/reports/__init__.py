"""Energy-conservation committee reports: generate, list and download."""
