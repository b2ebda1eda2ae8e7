"""Guided drills: shipped protocol files (``*.toml``), metric sources and the drill runner."""
