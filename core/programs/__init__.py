"""Programs: site-wide session templates and per-client bundles sold as packs.

A template describes an offer ("10 sessions, 500 €"); a bundle is that offer sold to
one client, with its own sessions. Everything is registered through the hooks
(``plugin.py``) like any other area of the core.
"""
