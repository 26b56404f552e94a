"""Helpers for testing add-ons; the pytest fixtures are in :mod:`core.testing.plugin`."""
