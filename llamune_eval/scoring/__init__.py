"""Scoring: metric functions, answer parsing, and statistics. Pure functions, no I/O."""
