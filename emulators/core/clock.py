"""A clock the tests control, so generated timestamps and "advance the clock" are reproducible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Every emulator starts its history here: far enough in the past that any sensible `start_date` works.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
#: Generated history spans this long before the clock's start, so records have spread-out timestamps.
HISTORY = timedelta(days=365)


class SimClock:
    """Simulated wall clock: starts at ``EPOCH + HISTORY`` and only moves when told to.

    :meth:`following_wall_clock` builds the other kind: "now" is the machine's real time plus
    whatever :meth:`advance` added, for clients that compare server time with their own clock
    (a vendor that refuses a "too recent" start time must agree with the client on what "recent"
    means). Either way the generated history stays anchored at :data:`EPOCH`, so seeded data never
    depends on when a test runs.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._pinned = start or EPOCH + HISTORY
        self._offset: timedelta | None = None  # set: follow the wall clock, shifted by this much

    @classmethod
    def following_wall_clock(cls) -> SimClock:
        """A clock whose "now" is the real time (plus what :meth:`advance` added since)."""
        clock = cls()
        clock._offset = timedelta(0)
        return clock

    @property
    def follows_wall_clock(self) -> bool:
        """Whether "now" moves with real time."""
        return self._offset is not None

    @property
    def now(self) -> datetime:
        """The emulated present."""
        if self._offset is None:
            return self._pinned
        return datetime.now(UTC) + self._offset

    @now.setter
    def now(self, moment: datetime) -> None:
        if self._offset is None:
            self._pinned = moment
        else:
            self._offset = moment - datetime.now(UTC)

    def advance(self, seconds: float) -> datetime:
        """Move time forward; mutations stamp records with the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now

    def history_point(self, fraction: float) -> datetime:
        """A moment ``fraction`` (0..1) of the way through the generated history, whole seconds."""
        moment = EPOCH + HISTORY * fraction
        return moment.replace(microsecond=0)
