"""What an operator reads while a tap runs: a progress line per busy stream, a summary per stream at the end.

Why here: the ``pii-hashed-tap`` launcher already sits between every extractor and Meltano and sees each
Singer line, so it can count records per stream without a second pass. The taps' own INFO logging and the
SDK's per-request METRIC lines are switched off by default (``LOGLEVEL=WARNING`` in meltano.yml), which
leaves these lines, warnings and errors (issue 15 §1). They go to stderr, which Meltano, ``make demo`` and
the Airflow task logs all show.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Default seconds between two progress lines of one stream (``PII_PROGRESS_SECONDS`` overrides it).
PROGRESS_SECONDS = 5.0


@dataclass(slots=True)
class StreamTally:
    """Counts of one stream's messages and when they arrived."""

    name: str
    first_seen: float
    last_seen: float
    records: int = 0
    batch_files: int = 0
    versions_activated: int = 0
    records_at_last_progress: int = 0
    last_progress: float = 0.0

    def rate(self, now: float, since: float, records_then: int) -> float:
        """Records per second between ``since`` and ``now``."""
        elapsed = now - since
        return (self.records - records_then) / elapsed if elapsed > 0 else 0.0


@dataclass
class RunTally:
    """Every stream of one tap run, in the order the tap first mentioned them.

    ``clock`` is injectable so the progress cadence can be tested without waiting on the real clock.
    """

    write: Callable[[str], object]
    every: float = PROGRESS_SECONDS
    clock: Callable[[], float] = time.monotonic
    streams: dict[bytes, StreamTally] = field(default_factory=dict)
    last_state: bytes | None = None
    _next_check: float = 0.0

    def seen(self, stream: bytes, kind: bytes) -> None:
        """Count one message of ``stream`` (``kind`` is its Singer type) and print progress when due."""
        tally = self.streams.get(stream)
        now = self.clock()
        if tally is None:
            tally = self.streams[stream] = StreamTally(stream.decode(), now, now, last_progress=now)
        tally.last_seen = now
        if kind == b"RECORD":
            tally.records += 1
        elif kind == b"ACTIVATE_VERSION":
            tally.versions_activated += 1
        if now >= self._next_check:
            self._progress(now)

    def batch(self, stream: bytes, manifest_files: int) -> None:
        """Count a BATCH message: the loader reads ``manifest_files`` files of records we never see."""
        self.seen(stream, b"BATCH")
        self.streams[stream].batch_files += manifest_files

    def _progress(self, now: float) -> None:
        """One line for every stream that received records since its last line and is due again."""
        self._next_check = now + min(1.0, self.every)
        for tally in self.streams.values():
            if now - tally.last_progress >= self.every and tally.records > tally.records_at_last_progress:
                rate = tally.rate(now, tally.last_progress, tally.records_at_last_progress)
                self.write(f"{tally.name}: {tally.records:,} records so far, {rate:,.0f}/s\n")
                tally.last_progress = now
                tally.records_at_last_progress = tally.records

    def summary(self) -> list[str]:
        """One line per stream: records, duration, whether state covers it, whether older rows were retired."""
        bookmarks = _bookmarks(self.last_state)
        lines = []
        for key, tally in self.streams.items():
            seconds = tally.last_seen - tally.first_seen
            parts = [f"{tally.name}: {tally.records:,} records in {seconds:.1f}s"]
            if seconds >= 1:
                parts[0] += f" ({tally.records / seconds:,.0f}/s)"
            if tally.batch_files:
                parts.append(f"{tally.batch_files} batch file(s)")
            parts.append(_state_phrase(bookmarks.get(key.decode())))
            if tally.versions_activated:
                parts.append("complete copy activated, rows missing from it retired")
            lines.append(", ".join(parts) + "\n")
        return lines


def _bookmarks(state_line: bytes | None) -> dict[str, Any]:
    """The ``bookmarks`` of the last STATE message (the SDK's state is cumulative: the last one says it all)."""
    if not state_line:
        return {}
    try:
        value = json.loads(state_line).get("value") or {}
    except ValueError:
        return {}
    bookmarks = value.get("bookmarks") if isinstance(value, dict) else None
    return bookmarks if isinstance(bookmarks, dict) else {}


def _state_phrase(bookmark: Any) -> str:
    """How the stream's state ended: its replication key value when it has one."""
    if not isinstance(bookmark, dict):
        return "no state"
    key, value = bookmark.get("replication_key"), bookmark.get("replication_key_value")
    if key and value is not None:
        return f"state saved ({key} {value})"
    if bookmark.get("partitions"):
        return f"state saved ({len(bookmark['partitions'])} partitions)"
    return "state saved"
