"""Keyed pseudonymisation of personal fields in a Singer stream (see docs/privacy.md)."""
