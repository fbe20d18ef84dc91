"""A clock the tests control, so generated timestamps and "advance the clock" are reproducible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Every emulator starts its history here: far enough in the past that any sensible `start_date` works.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
#: Generated history spans this long before the clock's start, so records have spread-out timestamps.
HISTORY = timedelta(days=365)


class SimClock:
    """Simulated wall clock: starts at ``EPOCH + HISTORY`` and only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or EPOCH + HISTORY

    def advance(self, seconds: float) -> datetime:
        """Move time forward; mutations stamp records with the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now

    def history_point(self, fraction: float) -> datetime:
        """A moment ``fraction`` (0..1) of the way through the generated history, whole seconds."""
        moment = EPOCH + HISTORY * fraction
        return moment.replace(microsecond=0)
