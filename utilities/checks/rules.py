"""The two rules, as pure functions of the schedules, the recorded counts and the clock.

Freshness: a table is stale when its last recorded load is older than the latest run its cron should
have finished by now (the last fire time before ``now - grace``, grace covering the run itself). The
record is written only after a successful job, so a quiet incremental run that loads no new rows still
counts as fresh, and a failed one does not.
Volume: the latest count against the latest count at least a week older; a move beyond ``max_ratio``
either way (x2 up or /2 down with the default) is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from utilities.checks.project import Schedule
from utilities.checks.warehouse import CountRecord

WEEK = timedelta(days=7)


class CronError(ValueError):
    """A schedule's interval is not a cron expression croniter (and Airflow) accepts."""


@dataclass(frozen=True)
class Finding:
    """One thing that is off, phrased for an operator."""

    table: str
    problem: str

    def __str__(self) -> str:
        """One report line: the table, then what is wrong with it."""
        return f"{self.table}: {self.problem}"


def validate_cron(schedule_name: str, cron: str) -> None:
    """Raise CronError naming the schedule when ``cron`` does not parse."""
    # Airflow refuses the 6-field (seconds) form that croniter alone would accept.
    if not croniter.is_valid(cron) or len(croniter(cron).expanded) != 5:
        msg = f"schedule {schedule_name!r}: interval {cron!r} is not a valid 5-field cron expression"
        raise CronError(msg)


def due_since(cron: str, now: datetime, grace: timedelta) -> datetime:
    """Start of the latest scheduled run that should have finished by ``now``."""
    moment: datetime = croniter(cron, now - grace).get_prev(datetime)
    return moment


def check(
    schedules: Iterable[Schedule],
    history: list[CountRecord],
    tables_now: Iterable[tuple[str, str]],
    *,
    now: datetime,
    grace: timedelta,
    max_ratio: float,
) -> list[Finding]:
    """Report stale loads and week-on-week volume moves for every table of every scheduled schema."""
    by_table: dict[tuple[str, str], list[CountRecord]] = {}
    for record in history:
        by_table.setdefault((record.schema, record.table), []).append(record)
    present = {(s.upper(), t.upper()) for s, t in tables_now}
    findings: list[Finding] = []
    for schedule in schedules:
        validate_cron(schedule.name, schedule.cron)
        due = due_since(schedule.cron, now, grace)
        for schema in (s.upper() for s in schedule.schemas):
            tables = sorted({key for key in by_table if key[0] == schema} | {k for k in present if k[0] == schema})
            if not tables:
                findings.append(Finding(schema, f"nothing recorded yet; {schedule.name} was due {due:%Y-%m-%dT%H:%MZ}"))
            for key in tables:
                records = sorted(by_table.get(key, []), key=lambda r: r.recorded_at)
                findings += _freshness(".".join(key), records, schedule, due)
                findings += _volume(".".join(key), records, max_ratio)
    return findings


def _freshness(name: str, records: list[CountRecord], schedule: Schedule, due: datetime) -> list[Finding]:
    if records and records[-1].recorded_at >= due:
        return []
    last = f"last load {records[-1].recorded_at:%Y-%m-%dT%H:%MZ}" if records else "never recorded"
    expected = f"{schedule.name} ({schedule.cron}) should have loaded it since {due:%Y-%m-%dT%H:%MZ}"
    return [Finding(name, f"stale: {last}; {expected}")]


@dataclass(frozen=True)
class VolumeMove:
    """A table's latest row count against the latest one at least a week older."""

    before: CountRecord
    latest: CountRecord
    ratio: float

    def beyond(self, max_ratio: float) -> bool:
        """Whether the move is larger than the check allows, either way."""
        return not (1 / max_ratio <= self.ratio <= max_ratio)


def volume_move(records: list[CountRecord]) -> VolumeMove | None:
    """The week-on-week move of one table's counts (oldest first); ``None`` without a week of history."""
    if not records:
        return None
    latest = records[-1]
    older = [r for r in records if r.recorded_at <= latest.recorded_at - WEEK]
    if not older:
        return None
    before = older[-1]
    if before.row_count == latest.row_count:
        return VolumeMove(before, latest, 1.0)
    ratio = latest.row_count / before.row_count if before.row_count else float("inf")
    return VolumeMove(before, latest, ratio)


def _volume(name: str, records: list[CountRecord], max_ratio: float) -> list[Finding]:
    move = volume_move(records)
    if move is None or not move.beyond(max_ratio):
        return []
    before, latest, ratio = move.before, move.latest, move.ratio
    return [
        Finding(
            name,
            f"volume moved x{ratio:.2f} week on week ({before.row_count} rows on "
            f"{before.recorded_at:%Y-%m-%d}, {latest.row_count} on {latest.recorded_at:%Y-%m-%d}; "
            f"allowed x{1 / max_ratio:.2f}..x{max_ratio:.2f})",
        )
    ]
