"""State outside one machine: Meltano's system database on PostgreSQL, and one state id per pipeline.

Prod points MELTANO_DATABASE_URI (or MELTANO_STATE_BACKEND_URI) at a shared backend (orchestrate/README.md).
Here a throwaway PostgreSQL server (Debian's postgresql package, scripts/ensure-system-deps.sh) holds the
system database of a small Meltano project whose two pipelines are incremental counters, so every run
shows from which bookmark it started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import yaml
from meltano.core.block.extract_load import generate_state_id

from tests.harness import MELTANO, PROJECT_ROOT

pytestmark = pytest.mark.e2e

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; drop to the `postgres` user when the tests run as root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on a free port in a temp dir; yields its base URI (superuser, trust auth)."""
    assert PG_BIN, "PostgreSQL server binaries missing: run scripts/ensure-system-deps.sh"
    bin_dir = PG_BIN[-1]
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="meltano-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    data = base / "data"

    def pg(*cmd: str) -> None:
        subprocess.run(_as_postgres([str(bin_dir / cmd[0]), *cmd[1:]]), check=True, capture_output=True, timeout=120)

    pg("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg("pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_uri(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URI of a new, empty database for one test (Meltano creates its tables on first use)."""
    name = "meltano_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server.replace('postgresql', 'postgresql+psycopg', 1)}/{name}"


COUNTER_TAP = """\
import json, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
config = json.load(open(args["--config"]))
state = json.load(open(args["--state"])) if "--state" in args else {}
start = state.get("bookmarks", {}).get("items", {}).get("last_id", 0)
print(f"starting after id {start}", file=sys.stderr)
schema = {"type": "object", "properties": {"id": {"type": "integer"}, "source": {"type": "string"}}}
print(json.dumps({"type": "SCHEMA", "stream": "items", "schema": schema, "key_properties": ["id"]}))
for n in range(start + 1, start + 1 + config["batch"]):
    print(json.dumps({"type": "RECORD", "stream": "items", "record": {"id": n, "source": config["source"]}}))
print(json.dumps({"type": "STATE", "value": {"bookmarks": {"items": {"last_id": start + config["batch"]}}}}))
"""

FILE_TARGET = """\
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
state = None
with open(config["path"], "a") as out:
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "RECORD":
            out.write(json.dumps(message["record"]) + "\\n")
        elif message["type"] == "STATE":
            state = message["value"]
if state is not None:
    print(json.dumps(state))
"""

COUNTER_PROJECT = {
    "default_environment": "dev",
    "project_id": "5b0c5c1e-0000-4000-8000-00000000c0de",
    "send_anonymous_usage_stats": False,
    "environments": [{"name": "dev"}, {"name": "prod"}],
    "plugins": {
        "extractors": [
            {
                "name": "tap-counter-a",
                "namespace": "tap_counter",
                "executable": "./counter_tap.py",
                "capabilities": ["state"],
                "settings": [{"name": "batch", "kind": "integer"}, {"name": "source"}],
                "config": {"batch": 3, "source": "a"},
            },
            {"name": "tap-counter-b", "inherit_from": "tap-counter-a", "config": {"batch": 5, "source": "b"}},
        ],
        "loaders": [
            {
                "name": "target-file",
                "namespace": "target_file",
                "executable": "./file_target.py",
                "settings": [{"name": "path"}],
                "config": {"path": "$MELTANO_PROJECT_ROOT/landed.jsonl"},
            }
        ],
    },
    "jobs": [
        {"name": "a-to-file", "tasks": ["tap-counter-a target-file"]},
        {"name": "b-to-file", "tasks": ["tap-counter-b target-file"]},
    ],
}


@pytest.fixture
def counter_project(tmp_path: Path) -> Path:
    (tmp_path / "meltano.yml").write_text(yaml.safe_dump(COUNTER_PROJECT, sort_keys=False))
    for name, source in (("counter_tap.py", COUNTER_TAP), ("file_target.py", FILE_TARGET)):
        script = tmp_path / name
        script.write_text(f"#!{sys.executable}\n{source}")
        script.chmod(0o755)
    return tmp_path


def meltano_in(project: Path, database_uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env.update({"MELTANO_DATABASE_URI": database_uri, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"})
    result = subprocess.run(
        [MELTANO, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def landed_ids(project: Path, source: str) -> list[int]:
    rows = [json.loads(line) for line in (project / "landed.jsonl").read_text().splitlines()]
    return [row["id"] for row in rows if row["source"] == source]


def test_two_pipelines_each_resume_from_their_own_state_in_postgres(counter_project, postgres_uri):
    for job in ("a-to-file", "b-to-file", "a-to-file", "b-to-file"):
        meltano_in(counter_project, postgres_uri, "run", job)

    assert landed_ids(counter_project, "a") == [1, 2, 3, 4, 5, 6]  # 3 per run, second run after id 3
    assert landed_ids(counter_project, "b") == list(range(1, 11))  # 5 per run, second run after id 5
    with psycopg.connect(postgres_uri.replace("postgresql+psycopg", "postgresql")) as con:
        stored = dict(con.execute("SELECT state_id, completed_state FROM state").fetchall())
    assert {k: json.loads(v) if isinstance(v, str) else v for k, v in stored.items()} == {
        "dev:tap-counter-a-to-target-file": {"singer_state": {"bookmarks": {"items": {"last_id": 6}}}},
        "dev:tap-counter-b-to-target-file": {"singer_state": {"bookmarks": {"items": {"last_id": 10}}}},
    }
    assert not (counter_project / ".meltano" / "meltano.db").exists(), "state must not fall back to local SQLite"
    # The ids Meltano stored are the ones its own rule gives, which the next test relies on.
    assert sorted(stored) == [
        state_id("dev", "tap-counter-a", "target-file"),
        state_id("dev", "tap-counter-b", "target-file"),
    ]


def state_id(environment: str, extractor: str, loader: str, suffix: str | None = None) -> str:
    """The state id Meltano's own rule gives a pipeline (the function `meltano run` calls)."""
    project = SimpleNamespace(environment=SimpleNamespace(name=environment, state_id_suffix=suffix))
    return generate_state_id(
        project,  # type: ignore[arg-type]
        None,
        SimpleNamespace(string_id=extractor),  # type: ignore[arg-type]
        SimpleNamespace(string_id=loader),  # type: ignore[arg-type]
    )


def pipelines(project: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(job, extractor, loader) for every extract-load task of every job."""
    extractors = {e["name"] for e in project["plugins"].get("extractors", [])}
    loaders = {e["name"] for e in project["plugins"].get("loaders", [])}
    found = []
    for job in project["jobs"]:
        tasks = [job["tasks"]] if isinstance(job["tasks"], str) else job["tasks"]
        for task in tasks:
            blocks = task.split()
            if blocks[0] in extractors:
                assert blocks[-1] in loaders, f"job {job['name']}: {task!r} does not end in a loader"
                found.append((job["name"], blocks[0], blocks[-1]))
    return found


def merged_project() -> dict[str, Any]:
    """meltano.yml with its include_paths merged: plugins, jobs, schedules, environments."""
    root = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    merged: dict[str, Any] = {"plugins": {}, "jobs": [], "schedules": [], "environments": root["environments"]}
    docs = [root] + [
        yaml.safe_load(path.read_text())
        for pattern in root.get("include_paths", [])
        for path in sorted(PROJECT_ROOT.glob(pattern.removeprefix("./")))
    ]
    for doc in docs:
        for plugin_type, plugins in (doc.get("plugins") or {}).items():
            merged["plugins"].setdefault(plugin_type, []).extend(plugins)
        merged["jobs"] += doc.get("jobs") or []
        merged["schedules"] += doc.get("schedules") or []
    return merged


def test_no_two_pipelines_of_this_project_can_write_the_same_state_id():
    """Meltano derives the state id from environment + extractor + loader (its own generate_state_id)."""
    project = merged_project()
    found = pipelines(project)
    assert found, "no extract-load jobs found"
    state_ids: dict[str, str] = {}
    for environment in project["environments"]:
        for job, extractor, loader in found:
            sid = state_id(environment["name"], extractor, loader, environment.get("state_id_suffix"))
            assert sid not in state_ids, f"jobs {state_ids[sid]} and {job} share state id {sid}"
            state_ids[sid] = job
    # The same job on two schedules would be two DAGs writing one state id.
    scheduled = [s["job"] for s in project["schedules"]]
    assert len(scheduled) == len(set(scheduled)), scheduled
    assert all("job" in s for s in project["schedules"]), "elt schedules use the schedule name as state id"
