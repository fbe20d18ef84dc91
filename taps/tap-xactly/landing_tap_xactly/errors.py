"""Errors the tap reports as one clear line (``landing_tap_kit.cli`` prints their message alone)."""

from __future__ import annotations


class XactlyError(Exception):
    """A failure the user can act on; its message is the whole report (no secret, no traceback at INFO)."""


class ConfigError(XactlyError):
    """A setting is missing or wrong (names the setting)."""


class TransientDatabaseError(XactlyError):
    """A network/driver failure worth a reconnect and another try."""


class MissingTableError(XactlyError):
    """A table in the catalog no longer exists at the source."""
