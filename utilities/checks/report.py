"""The run report: one self-contained HTML file answering "is every source fresh, did anything change size?".

Built from the history the checks keep in the warehouse (row counts and run outcomes, ``LOAD_CHECKS``) and
the project's schedules, with the same rules as ``checks freshness`` (``rules.py``), so the page and the
alert never disagree. One file, no scripts, no fonts or styles from the network: it opens from a file path
on an air-gapped machine and can be mailed or archived as is. Charts are inline SVG drawn by the template.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import jinja2

from utilities.checks.project import MeltanoProject, ProjectError, Schedule
from utilities.checks.rules import VolumeMove, due_since, validate_cron, volume_move
from utilities.checks.warehouse import CountRecord, RunRecord

TEMPLATE = "report.html.j2"
#: Runs shown in each table's chart: enough to see a trend, few enough to stay one small chart.
CHART_RUNS = 12
_SEVERITY = {"green": 0, "amber": 1, "red": 2}


@dataclass(frozen=True)
class Bar:
    """One run's row count in a table's chart."""

    recorded_at: datetime
    row_count: int
    height: float
    jump: bool


@dataclass(frozen=True)
class TableView:
    """One landed table: freshness, its latest row count and its counts over the last runs."""

    schema: str
    table: str
    freshness: str
    last_load: datetime | None
    row_count: int | None
    bars: list[Bar]
    move: VolumeMove | None
    jump: bool


@dataclass
class SourceView:
    """One schedule (one source): its tables, its last runs and how fresh it is overall."""

    schedule: Schedule
    due: datetime
    tables: list[TableView] = field(default_factory=list)
    last_success: datetime | None = None
    last_run: RunRecord | None = None

    @property
    def freshness(self) -> str:
        """The worst freshness of its tables; a source with nothing recorded is red."""
        if not self.tables:
            return "red"
        return max((t.freshness for t in self.tables), key=_SEVERITY.__getitem__)

    @property
    def failed_error(self) -> str | None:
        """The last error line when the latest run failed (a later success clears it)."""
        if self.last_run is None or self.last_run.succeeded:
            return None
        return self.last_run.error_line or "the run failed; no error line was recorded (see the orchestrator's log)"

    @property
    def jumps(self) -> int:
        """Tables whose week-on-week volume move is beyond the check's limit."""
        return sum(t.jump for t in self.tables)


def freshness(last_load: datetime | None, cron: str, now: datetime, grace: timedelta) -> str:
    """Green: loaded by the latest due run. Amber: a run is due, still within its grace. Red: stale (alerts)."""
    if last_load is None or last_load < due_since(cron, now, grace):
        return "red"
    if last_load < due_since(cron, now, timedelta(0)):
        return "amber"
    return "green"


def build(
    project: MeltanoProject,
    history: Iterable[CountRecord],
    runs: Iterable[RunRecord],
    *,
    now: datetime,
    grace: timedelta,
    max_ratio: float,
) -> list[SourceView]:
    """Every scheduled source with its tables, the ones that need a look first."""
    by_table: dict[tuple[str, str], list[CountRecord]] = {}
    for record in sorted(history, key=lambda r: r.recorded_at):
        by_table.setdefault((record.schema, record.table), []).append(record)
    sources = []
    for schedule in project.schedules():
        validate_cron(schedule.name, schedule.cron)
        source = SourceView(schedule, due_since(schedule.cron, now, grace))
        schemas = {s.upper() for s in schedule.schemas}
        for schema, table in sorted(key for key in by_table if key[0] in schemas):
            source.tables.append(
                _table(
                    schema,
                    table,
                    by_table[(schema, table)],
                    schedule=schedule,
                    now=now,
                    grace=grace,
                    max_ratio=max_ratio,
                )
            )
        for run in sorted(runs, key=lambda r: r.recorded_at):
            if schemas & {s.upper() for s in _job_schemas(project, run.job)}:
                source.last_run = run
                if run.succeeded:
                    source.last_success = run.recorded_at
        sources.append(source)
    # What needs a look first: stale, then a failed last run, then due; fresh sources last.
    return sorted(sources, key=lambda s: (-_SEVERITY[s.freshness], s.failed_error is None, s.schedule.name))


def _job_schemas(project: MeltanoProject, job: str) -> tuple[str, ...]:
    """A recorded job's schemas; a job since removed from the project matches no source."""
    try:
        return project.job_schemas(job)
    except ProjectError:
        return ()


def _table(
    schema: str,
    table: str,
    records: list[CountRecord],
    *,
    schedule: Schedule,
    now: datetime,
    grace: timedelta,
    max_ratio: float,
) -> TableView:
    move = volume_move(records)
    jump = move is not None and move.beyond(max_ratio)
    shown = records[-CHART_RUNS:]
    highest = max((r.row_count for r in shown), default=0) or 1
    bars = [Bar(r.recorded_at, r.row_count, r.row_count / highest, jump and r is records[-1]) for r in shown]
    last = records[-1] if records else None
    return TableView(
        schema=schema,
        table=table,
        freshness=freshness(last.recorded_at if last else None, schedule.cron, now, grace),
        last_load=last.recorded_at if last else None,
        row_count=last.row_count if last else None,
        bars=bars,
        move=move,
        jump=jump,
    )


def render(sources: list[SourceView], *, now: datetime, grace: timedelta, max_ratio: float) -> str:
    """The report as one HTML document (autoescaped: error lines and names are shown, never interpreted)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    counts = {level: sum(s.freshness == level for s in sources) for level in _SEVERITY}
    return environment.get_template(TEMPLATE).render(
        sources=sources, now=now, grace=grace, max_ratio=max_ratio, counts=counts, chart_runs=CHART_RUNS
    )


def write(path: Path, html: str) -> Path:
    """Write the report next to the warehouse output, replacing the previous one in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)
    return path
