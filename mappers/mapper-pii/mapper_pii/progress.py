"""What an operator reads while a tap runs: a progress line per busy stream, a summary per stream at the end.

Why here: the ``pii-hashed-tap`` launcher already sits between every extractor and Meltano and sees each
Singer line, so it can count records per stream without a second pass. The SDK plugins' own INFO logging and
per-request METRIC lines are off the console by default (``utilities/logging/quiet.yml``), which leaves these
lines, warnings and errors (issue 15 §1). They go to stderr, which Meltano, ``make demo`` and the Airflow
task logs all show.

Counting is on the launcher's hot path (every record of every job), so the per-record part is three dict
operations the launcher does inline on :attr:`RunTally.records` and :attr:`RunTally.last_seen`; everything
else happens per STATE/SCHEMA/ACTIVATE_VERSION message or once a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Default seconds between two progress lines of one stream (``PII_PROGRESS_SECONDS`` overrides it).
PROGRESS_SECONDS = 5.0
#: How often the launcher looks at the clock's verdict at most: progress is never later than this.
CHECK_SECONDS = 1.0


@dataclass
class RunTally:
    """Every stream of one tap run, in the order the tap first mentioned them.

    ``clock`` is injectable so the progress cadence can be tested without waiting on the real clock.
    """

    write: Callable[[str], object]
    every: float = PROGRESS_SECONDS
    clock: Callable[[], float] = time.monotonic
    records: dict[bytes, int] = field(default_factory=dict)
    first_seen: dict[bytes, float] = field(default_factory=dict)
    last_seen: dict[bytes, float] = field(default_factory=dict)
    activated: set[bytes] = field(default_factory=set)
    batch_files: dict[bytes, int] = field(default_factory=dict)
    last_state: bytes | None = None
    next_check: float = 0.0
    _reported: dict[bytes, tuple[float, int]] = field(default_factory=dict)

    def seen(self, stream: bytes, kind: bytes) -> None:
        """Count one message of ``stream`` (``kind`` is its Singer type) and print progress when due."""
        now = self.clock()
        if stream not in self.first_seen:
            self.first_seen[stream] = now
            self._reported[stream] = (now, 0)
        self.last_seen[stream] = now
        if kind == b"RECORD":
            self.records[stream] = self.records.get(stream, 0) + 1
        elif kind == b"ACTIVATE_VERSION":
            self.activated.add(stream)
        if now >= self.next_check:
            self.progress(now)

    def batch(self, stream: bytes, manifest_files: int) -> None:
        """Count a BATCH message: the loader reads ``manifest_files`` files of records we never see."""
        self.seen(stream, b"BATCH")
        self.batch_files[stream] = self.batch_files.get(stream, 0) + manifest_files

    def progress(self, now: float) -> float:
        """One line for every stream with new records whose last line is ``every`` seconds old; next check time."""
        self.next_check = now + min(CHECK_SECONDS, self.every)
        for stream, count in self.records.items():
            since, count_then = self._reported.setdefault(stream, (self.first_seen.setdefault(stream, now), 0))
            if now - since >= self.every and count > count_then:
                rate = (count - count_then) / (now - since)
                self.write(f"{stream.decode()}: {count:,} records so far, {rate:,.0f}/s\n")
                self._reported[stream] = (now, count)
        return self.next_check

    def summary(self) -> list[str]:
        """One line per stream: records, duration, whether state covers it, whether older rows were retired."""
        bookmarks = _bookmarks(self.last_state)
        streams = list(self.first_seen) + [s for s in self.records if s not in self.first_seen]
        lines = []
        for stream in streams:
            records = self.records.get(stream, 0)
            seconds = self.last_seen.get(stream, 0.0) - self.first_seen.get(stream, self.last_seen.get(stream, 0.0))
            parts = [f"{stream.decode()}: {records:,} records in {seconds:.1f}s"]
            if seconds >= 1:
                parts[0] += f" ({records / seconds:,.0f}/s)"
            if stream in self.batch_files:
                parts.append(f"{self.batch_files[stream]} batch file(s)")
            parts.append(_state_phrase(bookmarks.get(stream.decode())))
            if stream in self.activated:
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
