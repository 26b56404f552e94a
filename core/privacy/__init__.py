"""Data rights: a client's copy of their data (export) and their erasure, with an audit log.

See docs/privacy.md for the export's schema and what erasure keeps and why.
"""
