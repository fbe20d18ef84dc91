"""Zendesk Support API emulator (registered as ``zendesk``); see :mod:`emulators.zendesk.server`."""

from emulators.zendesk.server import ZendeskEmulator

__all__ = ["ZendeskEmulator"]
