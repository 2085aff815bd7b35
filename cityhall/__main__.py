"""`python -m cityhall` runs the CLI."""

from cityhall.cli import main

main()
