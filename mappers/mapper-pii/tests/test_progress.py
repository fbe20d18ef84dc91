"""Progress lines: at most one per stream every few seconds, and only for streams that moved.

The clock is the tally's own injectable clock, so the cadence is checked without waiting.
"""

from __future__ import annotations

from mapper_pii.progress import RunTally


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_busy_stream_reports_once_per_interval_with_its_count_and_rate() -> None:
    clock, lines = Clock(), []
    tally = RunTally(write=lines.append, every=5.0, clock=clock)
    for _ in range(10):  # 10 records per second for 12 seconds
        for _ in range(10):
            tally.seen(b"tickets", b"RECORD")
        clock.now += 1.0
    for _ in range(2):
        for _ in range(10):
            tally.seen(b"tickets", b"RECORD")
        clock.now += 1.0
    assert lines == ["tickets: 51 records so far, 10/s\n", "tickets: 101 records so far, 10/s\n"]


def test_a_stream_without_new_records_stays_quiet() -> None:
    clock, lines = Clock(), []
    tally = RunTally(write=lines.append, every=5.0, clock=clock)
    tally.seen(b"users", b"RECORD")
    for _ in range(20):
        clock.now += 1.0
        tally.seen(b"tickets", b"SCHEMA")
    assert lines == ["users: 1 records so far, 0/s\n"]


def test_summary_names_the_bookmark_of_the_last_state() -> None:
    clock, lines = Clock(), []
    tally = RunTally(write=lines.append, every=5.0, clock=clock)
    tally.seen(b"tickets", b"SCHEMA")
    for _ in range(30):
        tally.seen(b"tickets", b"RECORD")
        clock.now += 0.1
    tally.seen(b"groups", b"ACTIVATE_VERSION")
    tally.last_state = (
        b'{"type":"STATE","value":{"bookmarks":{"tickets":'
        b'{"replication_key":"updated_at","replication_key_value":"2024-05-01T00:00:00Z"}}}}\n'
    )
    assert tally.summary() == [
        "tickets: 30 records in 2.9s (10/s), state saved (updated_at 2024-05-01T00:00:00Z)\n",
        "groups: 0 records in 0.0s, no state, complete copy activated, rows missing from it retired\n",
    ]
