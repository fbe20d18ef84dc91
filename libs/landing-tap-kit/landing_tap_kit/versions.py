"""Deletions the safe way: a full-table stream announces its new table version only after it was read completely.

A loader that receives ACTIVATE_VERSION retires (soft-deletes) every row of older versions. The SDK sends
it at the *start* of a full-table stream, so a run that dies half-way would retire rows that still exist
at the source (DESIGN: "a run that dies mid-stream retires nothing"). :class:`VersionAfterFullRead` keeps
the SDK from sending it at the start; the tap calls :meth:`~VersionAfterFullRead.begin_version` before the
first record and :meth:`~VersionAfterFullRead.announce_version` after the last one (from ``get_records``).
"""

from __future__ import annotations

import sys

from singer_sdk import Stream
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class VersionAfterFullRead(Stream):
    """A ``Stream`` that announces its table version after its last record, never before its first."""

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never at the start of the stream (the SDK's moment): see the module docstring."""
        return False

    @property
    def announces_versions(self) -> bool:
        """Whether this stream retires what it did not see: full table, and the tap's setting (default on)."""
        return self.replication_method == REPLICATION_FULL_TABLE and bool(
            self.config.get("emit_activate_version_messages", True)
        )

    def begin_version(self) -> None:
        """Stamp the records about to be read with this run's version (the SDK's own choice of number)."""
        if self.announces_versions:
            # The SDK's version number and the field its RECORD messages carry; no public setter exists.
            self._stream_version = self._initialized_at // 1000

    def announce_version(self) -> None:
        """Tell the loader the version is complete: call only once the last record was written."""
        if self.announces_versions and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)
