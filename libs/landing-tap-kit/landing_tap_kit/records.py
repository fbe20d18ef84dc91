"""The one fast path from a record to its RECORD messages, and the switch back to the SDK's own path.

SDK 0.54's ``Stream._generate_record_messages`` walks every record and each nested object to drop
deselected properties, then runs type conformance, then the stream maps. With the usual ``<stream>.*``
selection the walk removes nothing, and with ``TYPE_CONFORMANCE_LEVEL = NONE`` (taps that shape records
with :mod:`landing_tap_kit.shaping`) conformance changes nothing; together they were a fifth to a third
of a tap's CPU per record in profiles (bench/bench_zengrc.py, bench/bench_zendesk.py). This path keeps
what remains: the stream maps, then one RECORD message per map.

Everything else (a partial selection, another conformance level, ``LANDING_TAP_KIT_RECORD_PATH=sdk``
in the environment) takes the SDK's own path unchanged. ``landing_tap_kit.testing`` proves, per tap,
that both paths emit the same messages for a full and a partial selection.
"""

from __future__ import annotations

import os
import sys
import typing as t
from datetime import UTC, datetime
from functools import cached_property

import singer_sdk.singerlib as singer
from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel

from landing_tap_kit.stopping import STOP

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator

    from singer_sdk.helpers.types import Record

#: Set to ``sdk`` to send every record through the SDK's own path (a diagnosis switch; the contract test uses it).
RECORD_PATH_VARIABLE = "LANDING_TAP_KIT_RECORD_PATH"


class FastRecordStream(Stream):
    """A ``Stream`` that skips the SDK's no-op per-record work when nothing is deselected and conformance is off.

    Mix it in before the SDK base: ``class FooStream(FastRecordStream, RESTStream[...])``.
    """

    @cached_property
    def takes_fast_record_path(self) -> bool:
        """Whether the shortcut emits exactly what the SDK would: every property selected, conformance off."""
        if os.environ.get(RECORD_PATH_VARIABLE, "").lower() == "sdk":
            return False
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            return False
        return all(selected for breadcrumb, selected in self.mask.items() if breadcrumb)

    #: Whether this stream's SCHEMA message went out in this run.
    schema_written = False

    # The SDK's ``sync`` writes SCHEMA each time it is called, and a child stream's ``sync`` runs once per parent
    # record: Zendesk's audits and comments sent 2.6 identical SCHEMA messages per ticket (a fifth of the tap's
    # CPU, and every one relayed, mapped and re-read by the loader). Once per stream and run is what loaders
    # expect; ``Tap.write_schemas`` (``--test=schema``) still writes each once.
    @override
    def _write_schema_message(self) -> None:
        if self.schema_written:
            return
        super()._write_schema_message()
        self.schema_written = True

    # The one private SDK seam of the kit: the SDK has no public hook between a post-processed record
    # and its messages. Its body is checked against the SDK's by each tap's contract test (make sdk-canary).
    @override
    def _generate_record_messages(self, record: Record) -> Generator[singer.RecordMessage, None, None]:
        if STOP.signal is not None:  # a record boundary: the previous record and its state were written
            STOP.stop_here_if_asked()
        if not self.takes_fast_record_path:
            yield from super()._generate_record_messages(record)
            return
        extracted = datetime.now(UTC)
        version = self._stream_version
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias, record=mapped, version=version, time_extracted=extracted
                )
