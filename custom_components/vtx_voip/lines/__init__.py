"""The lines: their state, stored baselines and discovery."""
