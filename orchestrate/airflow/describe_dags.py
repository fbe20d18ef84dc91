"""Parse the DAG folder with Airflow's own DagBag and print what it holds as JSON (no metadata DB needed).

Run with the Airflow venv: ``.venv-airflow/bin/python orchestrate/airflow/describe_dags.py [out.json]``
(stdout without an argument; Airflow's own log lines go to stdout too).
tests/test_orchestration.py asserts on this output; operators can diff it before a deploy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag


def describe(dag_folder: Path) -> dict[str, Any]:
    """Import errors and, per DAG, its schedule settings and tasks as Airflow parsed them."""
    bag = DagBag(dag_folder=str(dag_folder))
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        dags[dag_id] = {
            "cron": dag.schedule if isinstance(dag.schedule, str) else None,
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tasks": [
                {
                    "task_id": task.task_id,
                    "operator": type(task).__name__,
                    "bash_command": getattr(task, "bash_command", None),
                    "cwd": getattr(task, "cwd", None),
                    "retries": task.retries,
                    "execution_timeout_seconds": (
                        task.execution_timeout.total_seconds() if task.execution_timeout else None
                    ),
                    "retry_delay_seconds": task.retry_delay.total_seconds(),
                    "retry_exponential_backoff": float(task.retry_exponential_backoff),
                    "upstream": sorted(task.upstream_task_ids),
                }
                for task in dag.topological_sort()
            ],
        }
    return {"import_errors": dict(bag.import_errors), "dags": dags}


if __name__ == "__main__":
    report = json.dumps(describe(Path(__file__).resolve().parent / "dags"), indent=2, default=str)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(report)
    else:
        print(report)
