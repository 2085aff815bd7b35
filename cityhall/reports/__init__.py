"""The energy-conservation committee's monthly and quarterly report: numbers, charts, PDF, HTML and XLSX."""
