"""Schedules on Airflow: the DAGs Airflow's own parser builds match what Meltano schedules, before deploy.

Airflow lives in its own venv (.venv-airflow, `make airflow-setup`), so it is driven through subprocesses:
orchestrate/airflow/describe_dags.py prints what DagBag parsed; orchestrate/airflow/airflow.sh is the
same entry point operators use.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from croniter import croniter

from tests.harness import MELTANO, PROJECT_ROOT
from utilities.checks.rules import CronError, validate_cron

ORCHESTRATE = PROJECT_ROOT / "orchestrate"
SNAPSHOT = ORCHESTRATE / "meltano-schedules.json"
AIRFLOW_PYTHON = PROJECT_ROOT / ".venv-airflow" / "bin" / "python"
AIRFLOW_SH = ORCHESTRATE / "airflow" / "airflow.sh"

#: The schedule table of DESIGN.md ("What it is for"): prod job source -> cron (UTC).
DESIGN_CRON = {
    "zengrc": "0 */8 * * *",
    "xactly": "0 0,5 * * *",
    "adaptive": "0 0 * * *",
    "zendesk": "0 4 * * *",
    "zendesk-community-relations": "0 5 * * *",
}


def meltano_schedules(project: Path) -> dict[str, Any]:
    result = subprocess.run(
        [MELTANO, "schedule", "list", "--format=json"],
        cwd=project,
        env={**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def airflow_env(airflow_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "MELTANO_", "SENTRY_"))}
    env.update({"AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **extra})
    return env


def describe_dags(airflow_home: Path, schedules_file: Path) -> dict[str, Any]:
    """What Airflow's DagBag makes of the DAG factory fed with ``schedules_file``."""
    assert AIRFLOW_PYTHON.exists(), "Airflow venv missing: run `make airflow-setup`"
    out = airflow_home.with_suffix(".json")
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), str(ORCHESTRATE / "airflow" / "describe_dags.py"), str(out)],
        env=airflow_env(airflow_home, MELTANO_SCHEDULES_FILE=str(schedules_file)),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def live_schedules() -> dict[str, Any]:
    """What `meltano schedule list` prints for the project right now."""
    return meltano_schedules(PROJECT_ROOT)


@pytest.fixture(scope="module")
def dags(live_schedules: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """DagBag's view of the DAG factory fed with the live schedule list."""
    tmp = tmp_path_factory.mktemp("airflow")
    live = tmp / "schedules.json"
    live.write_text(json.dumps(live_schedules))
    return describe_dags(tmp / "home", live)


def dag_id(schedule: dict[str, Any]) -> str:
    return "meltano_" + schedule["name"].replace("-", "_")


def job_schedules(schedules: dict[str, Any]) -> list[dict[str, Any]]:
    return schedules["schedules"]["job"]


def pipeline_schedules(schedules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Schedules of the data pipelines (prod jobs `<source>-to-snowflake`), keyed by source."""
    return {
        s["job"]["name"].removesuffix("-to-snowflake"): s
        for s in job_schedules(schedules)
        if s["job"]["name"].endswith("-to-snowflake")
    }


def test_committed_snapshot_is_what_meltano_prints_now(live_schedules):
    committed = json.loads(SNAPSHOT.read_text())
    assert committed == live_schedules, "orchestrate/meltano-schedules.json is stale: run `make schedules`"


def test_dag_file_imports_without_errors(dags):
    assert dags["import_errors"] == {}


def test_one_dag_per_schedule_with_its_cron(dags, live_schedules):
    expected = {dag_id(s): s["cron_interval"] for s in job_schedules(live_schedules)}
    assert {dag_id: dag["cron"] for dag_id, dag in dags["dags"].items()} == expected
    assert {dag["timetable"] for dag in dags["dags"].values()} == {"CronTriggerTimetable"}


def test_each_dag_runs_its_job_once_in_prod_from_the_project_root(dags, live_schedules):
    meltano = str(PROJECT_ROOT / ".venv" / "bin" / "meltano")
    for schedule in job_schedules(live_schedules):
        tasks = dags["dags"][dag_id(schedule)]["tasks"]
        run = tasks[0]
        assert run["task_id"] == "run"
        assert run["operator"] == "BashOperator"
        assert run["bash_command"] == f"umask 077 && {meltano} --environment=prod run {schedule['job']['name']}"
        assert run["cwd"] == str(PROJECT_ROOT)


def test_loading_jobs_record_row_counts_after_the_run(dags, live_schedules):
    for source, schedule in pipeline_schedules(live_schedules).items():
        tasks = dags["dags"][dag_id(schedule)]["tasks"]
        by_id = {t["task_id"]: t for t in tasks}
        assert sorted(by_id) == ["record_counts", "record_failure", "report", "run"], source
        assert by_id["record_counts"]["upstream"] == ["run"]
        assert by_id["record_counts"]["bash_command"].startswith("umask 077 && ")
        assert by_id["record_counts"]["bash_command"].endswith(f"invoke checks:record --job {schedule['job']['name']}")
        # The run report after the counts; a failed run recorded as failed, then the report re-rendered.
        assert by_id["report"]["upstream"] == ["record_counts"]
        assert by_id["report"]["bash_command"].endswith("invoke checks:report")
        assert by_id["record_failure"]["upstream"] == ["run"]
        assert (
            f"invoke checks:record --job {schedule['job']['name']} --failed && "
            in by_id["record_failure"]["bash_command"]
        )
        assert by_id["record_failure"]["bash_command"].endswith("invoke checks:report")


def test_no_catch_up_storms_and_retries_back_off(dags):
    assert dags["dags"], "no DAGs parsed"
    for dag_id, dag in dags["dags"].items():
        assert dag["catchup"] is False, dag_id
        assert dag["max_active_runs"] == 1, dag_id
        for task in dag["tasks"]:
            assert task["retries"] >= 1, dag_id
            assert task["retry_exponential_backoff"] > 1, dag_id


def shortest_gap_seconds(cron: str) -> float:
    """Shortest time between two fire times of ``cron``, over a year of fires (croniter of the dev venv)."""
    fires = croniter(cron, datetime(2025, 3, 1, tzinfo=UTC))
    times = [fires.get_next(datetime) for _ in range(400)]
    return min((b - a).total_seconds() for a, b in itertools.pairwise(times))


def test_every_run_has_a_deadline_that_leaves_room_for_the_next_run(dags, live_schedules):
    """One hung run cannot block its pipeline: all tries of a run end before the next run is due."""
    assert job_schedules(live_schedules)
    for schedule in job_schedules(live_schedules):
        run, *others = dags["dags"][dag_id(schedule)]["tasks"]
        tries = run["retries"] + 1
        assert run["execution_timeout_seconds"] == shortest_gap_seconds(schedule["cron_interval"]) / tries, schedule[
            "name"
        ]
        for task in others:
            assert task["execution_timeout_seconds"] == 15 * 60, (schedule["name"], task["task_id"])
    zengrc = dags["dags"]["meltano_zengrc_every_8_hours"]["tasks"][0]
    assert zengrc["execution_timeout_seconds"] == 8 * 3600 / (zengrc["retries"] + 1)
    xactly = dags["dags"]["meltano_xactly_twice_daily"]["tasks"][0]
    assert xactly["execution_timeout_seconds"] == 5 * 3600 / (xactly["retries"] + 1), "00:00 to 05:00"


def test_a_schedule_can_set_its_own_deadline(live_schedules, tmp_path):
    changed = json.loads(json.dumps(live_schedules))
    schedule = next(s for s in job_schedules(changed) if s["name"] == "adaptive-daily")
    schedule["env"] = {"MELTANO_DAG_EXECUTION_TIMEOUT_MINUTES": "90"}
    snapshot = tmp_path / "schedules.json"
    snapshot.write_text(json.dumps(changed))
    parsed = describe_dags(tmp_path / "home", snapshot)
    assert parsed["dags"]["meltano_adaptive_daily"]["tasks"][0]["execution_timeout_seconds"] == 90 * 60
    assert parsed["dags"]["meltano_zengrc_every_8_hours"]["tasks"][0]["execution_timeout_seconds"] != 90 * 60


PROBE_PROJECT = """\
default_environment: dev
project_id: 9e3c1f7a-0000-4000-8000-00000000d002
send_anonymous_usage_stats: false
environments: [{name: dev}, {name: prod}]
plugins:
  extractors:
  - name: probe-tap
    namespace: probe_tap
    executable: ./probe-tap.sh
    settings: [{name: password, kind: string, sensitive: true}]
    config: {password: not-for-other-users}
  loaders:
  - name: probe-target
    namespace: probe_target
    executable: ./probe-target.sh
jobs:
- {name: probe-job, tasks: ["probe-tap probe-target"]}
schedules:
- {name: probe-hourly, interval: "0 * * * *", job: probe-job}
"""
#: The stand-in tap reports the permissions of the config file Meltano wrote for it under .meltano/run.
PROBE_TAP = """\
#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --config ] && echo "config-mode=$(stat -c %a "$2") $2" >&2; shift; done
"""


def test_the_dag_command_keeps_meltano_run_files_private(dags, tmp_path):
    """Meltano writes plugin configs (secrets) under .meltano/run with the caller's umask: the DAG sets 077."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(PROBE_PROJECT)
    (project / "probe-tap.sh").write_text(PROBE_TAP)
    (project / "probe-target.sh").write_text("#!/bin/sh\ncat > /dev/null\n")
    for script in ("probe-tap.sh", "probe-target.sh"):
        (project / script).chmod(0o755)
    run = dags["dags"]["meltano_zengrc_every_8_hours"]["tasks"][0]
    command = run["bash_command"].replace("run zengrc-to-snowflake", "run probe-job")
    assert command.endswith("--environment=prod run probe-job")
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("MELTANO_DATABASE", "MELTANO_STATE", "MELTANO_ENV"))}

    def modes(shell_line: str) -> list[str]:
        # A worker's usual umask (022) around the command: only the command itself can make files private.
        done = subprocess.run(
            ["bash", "-c", f"umask 022; {shell_line}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        found = re.findall(r"config-mode=(\d+) (\S+)", done.stdout + done.stderr)
        assert found, done.stderr[-2000:]
        assert all("/.meltano/run/" in path for _, path in found)
        return [mode for mode, _ in found]

    assert modes(command) == ["600"]
    assert modes(command.removeprefix("umask 077 && ")) == ["644"], "without it Meltano leaves the file world-readable"


def test_make_demo_runs_with_a_private_umask():
    done = subprocess.run(
        ["make", "-n", "demo"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert re.search(r"^umask 077 && .*scripts/demo\.py$", done.stdout, re.MULTILINE), done.stdout[-2000:]


def test_every_schedule_interval_is_a_valid_cron(live_schedules):
    for schedule in job_schedules(live_schedules):
        validate_cron(schedule["name"], schedule["cron_interval"])


def test_pipeline_schedules_follow_the_design_table(live_schedules):
    pipelines = pipeline_schedules(live_schedules)
    assert pipelines, "no <source>-to-snowflake schedule found"
    for source, schedule in pipelines.items():
        assert source in DESIGN_CRON, f"schedule {schedule['name']}: source {source!r} is not in DESIGN.md"
        assert schedule["cron_interval"] == DESIGN_CRON[source], schedule["name"]


def test_pipeline_schedules_load_snowflake(live_schedules):
    for source, schedule in pipeline_schedules(live_schedules).items():
        pairs = [task.split() for task in schedule["job"]["tasks"] if len(task.split()) > 1]
        assert pairs, source
        assert all(p[0].startswith("tap-") and p[-1] == "target-snowflake" for p in pairs), schedule["job"]


def test_all_five_pipelines_are_scheduled(live_schedules):
    assert set(pipeline_schedules(live_schedules)) == set(DESIGN_CRON)


def test_invalid_cron_in_meltano_yml_is_caught_before_deploy(tmp_path):
    """Meltano passes any interval string through; both the cron check and Airflow's parser refuse it."""
    copy = tmp_path / "project"
    for path in [PROJECT_ROOT / "meltano.yml", *PROJECT_ROOT.glob("taps/*/*.meltano.yml")]:
        target = copy / path.relative_to(PROJECT_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    root_yml = copy / "meltano.yml"
    root_yml.write_text(root_yml.read_text().replace('interval: "30 * * * *"', 'interval: "30 * * */ 99"'))

    schedules = meltano_schedules(copy)
    bad = next(s for s in job_schedules(schedules) if s["name"] == "checks-freshness-hourly")
    assert bad["cron_interval"] == "30 * * */ 99", "Meltano accepted the bad interval as is"

    with pytest.raises(CronError, match=r"checks-freshness-hourly.*30 \* \* \*/ 99"):
        validate_cron(bad["name"], bad["cron_interval"])
    snapshot = tmp_path / "schedules.json"
    snapshot.write_text(json.dumps(schedules))
    parsed = describe_dags(tmp_path / "home", snapshot)
    # Airflow drops the bad DAG, keeps the others running and lists the error for `dags list-import-errors`.
    (error,) = parsed["import_errors"].values()
    assert list(parsed["import_errors"]) == [str(ORCHESTRATE / "airflow" / "dags" / "meltano_dags.py")]
    assert "[30 * * */ 99] is not acceptable" in error
    assert "meltano_checks_freshness_hourly" not in parsed["dags"]
    assert "meltano_zengrc_every_8_hours" in parsed["dags"]


def airflow_cli(airflow_home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW_SH), *args],
        env=airflow_env(airflow_home, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(("dsn", "expected"), [("", "False"), ("http://key@127.0.0.1:9/1", "True")])
def test_sentry_is_on_exactly_when_sentry_dsn_is_set(tmp_path, dsn, expected):
    """The wrapper's switch, seen by a stand-in `airflow` (the real integration: the dags test below)."""
    fake_bin = tmp_path / "venv" / "bin"
    fake_bin.mkdir(parents=True)
    (fake_bin / "airflow").write_text('#!/bin/sh\necho "$AIRFLOW__SENTRY__SENTRY_ON"\n')
    (fake_bin / "airflow").chmod(0o755)
    result = airflow_cli(tmp_path, "version", SENTRY_DSN=dsn, AIRFLOW_VENV=str(tmp_path / "venv"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == expected


class _SentryInbox(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        gzipped = self.headers.get("Content-Encoding") == "gzip"
        self.received.append(gzip.decompress(body) if gzipped else body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sentry_inbox() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback stand-in for Sentry's envelope endpoint; yields (DSN, received bodies)."""
    received: list[bytes] = []
    handler = type("Inbox", (_SentryInbox,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()


FAILING_PROJECT = """\
default_environment: dev
project_id: 9e3c1f7a-0000-4000-8000-00000000d001
send_anonymous_usage_stats: false
environments: [{name: dev}, {name: prod}]
plugins:
  utilities:
  - name: probe
    namespace: probe
    executable: /bin/sh
    commands:
      fail: {args: "-c 'echo probe ran in $PWD env=$MELTANO_ENVIRONMENT; exit 3'"}
jobs:
- {name: probe-job, tasks: ["probe:fail"]}
schedules:
- {name: probe-hourly, interval: "0 * * * *", job: probe-job}
"""


@pytest.mark.e2e
def test_failed_run_fails_the_dag_and_reaches_sentry(tmp_path, sentry_inbox):
    """The one real task run (`airflow dags test`, ~20 s): a harmless job that fails on purpose."""
    dsn, received = sentry_inbox
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(FAILING_PROJECT)
    snapshot = tmp_path / "schedules.json"
    snapshot.write_text(json.dumps(meltano_schedules(project)))
    home = tmp_path / "home"
    env = {
        "MELTANO_PROJECT_ROOT": str(project),
        "MELTANO_SCHEDULES_FILE": str(snapshot),
        "MELTANO_BIN": MELTANO,
        "MELTANO_DAG_RETRIES": "0",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SENTRY_DSN": dsn,
    }
    migrate = airflow_cli(home, "db", "migrate", **env)
    assert migrate.returncode == 0, migrate.stderr[-2000:]

    result = airflow_cli(home, "dags", "test", "meltano_probe_hourly", **env)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert f"probe ran in {project} env=prod" in output
    events = b"".join(received)
    assert b"meltano_probe_hourly" in events, "no Sentry event for the failed task"
    assert b"AirflowException" in events
    assert b"--environment=prod run probe-job" in events
