"""Conservation in four areas and the energy-conservation committee."""
