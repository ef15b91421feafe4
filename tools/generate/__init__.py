"""Generators of committed files; each module is run as `python -m tools.generate.<name>` and checked for staleness by a test."""
