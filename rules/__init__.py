"""The rules engine: pure evaluation of rules over windows of readings, and the runner that does the I/O."""
