"""Log lines that only repeat what a tap's one-line error already says, kept off the console.

The SDK logs "An unhandled error occurred while syncing '<stream>'" at ERROR before re-raising, and the
backoff library logs "Backing off"/"Giving up" when a tap lets it: with the one-line error (``cli``) an
operator would read the same failure two or three times. Only these exact messages are dropped; every
other line, warnings and errors included, passes.
"""

from __future__ import annotations

import logging
import sys

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

#: Message templates that echo the one-line error (matched on the unformatted template).
ECHOES = ("An unhandled error occurred while syncing", "Giving up %s", "Backing off %s")


class DropEchoes(logging.Filter):
    """Drops records whose message template starts with one of :data:`ECHOES`."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the echoes."""
        return not str(record.msg).startswith(ECHOES)


def drop_echoes(logger: logging.Logger | None = None) -> None:
    """Filter the echoes out at every handler of ``logger`` (the root logger: where the SDK's console handler is)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, DropEchoes) for existing in handler.filters):
            handler.addFilter(DropEchoes())
