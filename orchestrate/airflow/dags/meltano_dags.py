"""One Airflow DAG per Meltano schedule, built from a deploy-time snapshot of `meltano schedule list`.

Why a snapshot and not `meltano schedule list` at parse time: the dag-processor re-parses this file every
30 s, and shelling out to Meltano costs 2-3.5 s per parse against ~40 ms for the JSON file
(../shared/reference/orchestrator-notes.md). `make schedules` regenerates the snapshot and
tests/test_orchestration.py fails when it drifts from what Meltano prints.

Each DAG runs its job as ONE `meltano run <job>` (Meltano keeps the tap→target pipe and the state id per
job), then records row counts for the freshness/volume checks and renders the run report
(utilities/README.md); a failed run is recorded as failed and the report re-rendered. No catch-up storms
(`catchup=False`, one active run), retries with exponential backoff, failures reach Sentry through
Airflow's own integration (switched on by SENTRY_DSN in orchestrate/airflow/airflow.sh).

Deadlines: each try of a job's `run` task has an `execution_timeout`, so one hung run cannot block its
pipeline (`max_active_runs=1` would otherwise hold every later run behind it). The default gives all
tries of one run the time until the next run: the shortest gap between two fire times of the schedule's
cron, divided by (retries + 1). A schedule overrides it in meltano.yml with
`env: {MELTANO_DAG_EXECUTION_TIMEOUT_MINUTES: "90"}`. `record_counts`, `report` and `record_failure` get 15
minutes each.

Secrets at rest: Meltano writes each plugin's config (passwords, tokens, the hash key) to files under
`.meltano/run/` with the process umask, and a killed run leaves them behind; every task therefore runs
under `umask 077`, so those files are readable by the worker's user only.

Environment (all optional): MELTANO_PROJECT_ROOT, MELTANO_SCHEDULES_FILE, MELTANO_BIN,
MELTANO_DAG_ENVIRONMENT (default prod), MELTANO_DAG_RETRIES (default 3; CI uses 0 because
`airflow dags test` waits out retry delays), MELTANO_DAG_RETRY_DELAY_SECONDS (default 300).
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from croniter import croniter

PROJECT_ROOT = Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path(__file__).resolve().parents[3])
SCHEDULES_FILE = Path(
    os.environ.get("MELTANO_SCHEDULES_FILE") or PROJECT_ROOT / "orchestrate" / "meltano-schedules.json"
)
_PROJECT_MELTANO = PROJECT_ROOT / ".venv" / "bin" / "meltano"
MELTANO_BIN = os.environ.get("MELTANO_BIN") or (str(_PROJECT_MELTANO) if _PROJECT_MELTANO.exists() else "meltano")
ENVIRONMENT = os.environ.get("MELTANO_DAG_ENVIRONMENT", "prod")
RETRIES = int(os.environ.get("MELTANO_DAG_RETRIES", "3"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("MELTANO_DAG_RETRY_DELAY_SECONDS", "300")))
TIMEOUT_VARIABLE = "MELTANO_DAG_EXECUTION_TIMEOUT_MINUTES"
RECORD_COUNTS_TIMEOUT = timedelta(minutes=15)
#: Fire times looked at to find a cron's shortest gap: more than a year of a weekly schedule.
_CRON_SAMPLES = 60


def meltano_command(*args: str) -> str:
    """Build the shell line of a task: private umask, the project's meltano, the environment, ``args``."""
    return "umask 077 && " + shlex.join([MELTANO_BIN, f"--environment={ENVIRONMENT}", *args])


def shortest_gap(cron: str) -> timedelta:
    """The shortest time between two consecutive fire times of ``cron`` (``0 0,5 * * *``: 5 hours)."""
    fires = croniter(cron, datetime(2024, 1, 1, tzinfo=UTC))
    times = [fires.get_next(datetime) for _ in range(_CRON_SAMPLES)]
    return min(later - earlier for earlier, later in pairwise(times))


def execution_timeout(schedule: dict[str, Any]) -> timedelta:
    """Per-try deadline of a schedule's run: its override, else all tries fit before the next run."""
    override = (schedule.get("env") or {}).get(TIMEOUT_VARIABLE)
    if override:
        return timedelta(minutes=float(override))
    try:
        gap = shortest_gap(schedule["cron_interval"])
    except ValueError:
        # Airflow refuses this DAG for its cron (an import error naming it) and keeps the others; a
        # failure here would take every DAG of this file down with it.
        return RECORD_COUNTS_TIMEOUT
    return gap / (RETRIES + 1)


def loads_data(job: dict[str, Any]) -> bool:
    """Whether a job moves data (a task names an extractor and a loader), so row counts follow it."""
    return any(len(task.split()) > 1 for task in job["tasks"])


def build_dag(schedule: dict[str, Any]) -> DAG:
    """Build one schedule's DAG: ``meltano run <job>``, then ``checks:record`` if the job loads data."""
    job = schedule["job"]
    dag = DAG(
        dag_id="meltano_" + schedule["name"].replace("-", "_"),
        description=f"meltano run {job['name']} ({ENVIRONMENT}): {'; '.join(job['tasks'])}",
        schedule=schedule["cron_interval"],
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["meltano", ENVIRONMENT],
        default_args={
            "retries": RETRIES,
            "retry_delay": RETRY_DELAY,
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": timedelta(hours=1),
        },
    )
    run = BashOperator(
        task_id="run",
        dag=dag,
        bash_command=meltano_command("run", job["name"]),
        cwd=str(PROJECT_ROOT),
        execution_timeout=execution_timeout(schedule),
        append_env=True,
        skip_on_exit_code=None,  # BashOperator would otherwise turn exit code 99 into "skipped"
    )
    if loads_data(job):
        record = BashOperator(
            task_id="record_counts",
            dag=dag,
            bash_command=meltano_command("invoke", "checks:record", "--job", job["name"]),
            cwd=str(PROJECT_ROOT),
            execution_timeout=RECORD_COUNTS_TIMEOUT,
            append_env=True,
            skip_on_exit_code=None,
        )
        # The run report (utilities/README.md) is re-rendered after every outcome; a failed run first
        # records that it failed, so the report shows it. Only the success path's tasks can fail the DAG
        # run: record_failure is skipped after a success, and after a failure record_counts and report
        # are upstream_failed, which keeps the DAG run failed (and Sentry told).
        report = BashOperator(
            task_id="report",
            dag=dag,
            bash_command=meltano_command("invoke", "checks:report"),
            cwd=str(PROJECT_ROOT),
            execution_timeout=RECORD_COUNTS_TIMEOUT,
            append_env=True,
            skip_on_exit_code=None,
        )
        record_failure = BashOperator(
            task_id="record_failure",
            dag=dag,
            trigger_rule="one_failed",
            bash_command=meltano_command("invoke", "checks:record", "--job", job["name"], "--failed")
            + " && "
            + shlex.join([MELTANO_BIN, f"--environment={ENVIRONMENT}", "invoke", "checks:report"]),
            cwd=str(PROJECT_ROOT),
            execution_timeout=RECORD_COUNTS_TIMEOUT,
            append_env=True,
            skip_on_exit_code=None,
        )
        run >> record >> report
        run >> record_failure
    return dag


def job_schedules(snapshot: Path) -> list[dict[str, Any]]:
    """Job schedules of the snapshot; legacy ``elt`` schedules are refused so none is silently dropped."""
    schedules = json.loads(snapshot.read_text())["schedules"]
    if schedules.get("elt"):
        names = ", ".join(s["name"] for s in schedules["elt"])
        msg = f"{snapshot}: elt-style schedules ({names}) are not supported; give them a job"
        raise ValueError(msg)
    return list(schedules["job"])


for _schedule in job_schedules(SCHEDULES_FILE):
    _dag = build_dag(_schedule)
    globals()[_dag.dag_id] = _dag
