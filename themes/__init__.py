"""Bundled themes: each sub-folder has templates/ and static/ (see docs/themes.md)."""
