"""End to end: every dev job (`meltano run <source>-to-warehouse`) against its emulator, vs the same tap alone.

    .venv/bin/python -m bench.bench_e2e [--source zengrc ...] [--volume zengrc=100000 ...] [--rounds 3]
    .venv/bin/python -m bench.bench_e2e --smoke     # tiny volumes, one round (tests/test_bench_e2e_smoke.py)

Per source: its emulator runs in its own process at the given volume; each round runs the real job
(extractor under mapper-pii's ``pii-hashed-tap`` launcher, loader target-warehouse) in a fresh sandbox
(own warehouse file, state store, system database and ``.meltano/run``), then the bare tap with the
config and catalog Meltano hands it (``meltano invoke --dump``), stdout to /dev/null: interleaved,
so drift on the shared box hits both alike. After every job the warehouse is compared with the
emulator's ground truth: per emulator collection that landed as a table, the row count and the
primary keys (the SHA-256 of the sorted keys against ``/_emulator/summary`` where the emulator has it,
so no record list is held at any volume; else the key sets from ``/_emulator/truth``). Recorded per
run: wall time, records/s, and peak RSS and CPU seconds of each process role (meltano, launcher, tap,
loader, other children, emulator) from psutil samples of the process trees, plus the load average
around each run (the 2 cores are shared). Results:
``bench/results/e2e.json`` (``--output`` elsewhere), with the command.

Targets (issue 13): >= 30k records/s end to end and >= 0.8 of the tap alone, per source at >= 1M records.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psutil

from bench.harness import RESULTS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MELTANO = str(BIN / "meltano")
#: Seconds between two samples of the process trees (RSS, CPU); coarse, so sampling costs little CPU.
SAMPLE_SECONDS = 0.1
#: Tiny volumes of ``--smoke``: every part runs, in seconds.
SMOKE_VOLUME = 5


@dataclass(frozen=True)
class Summary:
    """A collection's ground truth without its records: row count and SHA-256 of its sorted keys."""

    count: int
    #: ``emulators/README.md``: SHA-256 of the live keys in ascending order, each followed by a newline.
    key_checksum: str


@dataclass(frozen=True)
class CellSummary:
    """Adaptive exportData's ground truth for the calls a run made: cells (one landed row each) and their sum."""

    cells: int
    value_sum: float


#: Per emulator collection: every record (small volumes, Xactly) or its summary.
Truth = dict[str, list[dict[str, Any]] | Summary | CellSummary]


def _no_run_truth() -> Truth:
    return {}


def _nothing_to_forget() -> None:
    """Emulators whose truth does not depend on what a run asked for keep no request log to clear."""


@dataclass
class RunningEmulator:
    """An emulator process: what Meltano needs to reach it, and what a complete load must hold.

    ``run_truth`` is the part of the truth that depends on what the run asked for (Adaptive's exportData
    answers the calls the tap made), read after each job; ``forget_requests`` clears the log it reads.
    """

    process: subprocess.Popen[str]
    env: dict[str, str]
    truth: Callable[[], Truth]
    run_truth: Callable[[], Truth] = _no_run_truth
    forget_requests: Callable[[], None] = _nothing_to_forget


def _start_process(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start an emulator CLI and read the ``{"name", "url"}`` line it prints once serving."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=60)
        msg = f"emulator {command[4]} exited {proc.returncode} before serving"
        raise RuntimeError(msg)
    return proc, str(json.loads(line)["url"])


def _http_truth(url: str) -> Callable[[], Truth]:
    """The emulator's summaries (count + sorted-key checksum, any volume), else every record it serves."""

    def truth() -> Truth:
        try:
            with urllib.request.urlopen(url + "/_emulator/summary", timeout=3600) as response:
                summaries: dict[str, dict[str, Any]] = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        else:
            if summaries:  # an emulator without seeded collections (Adaptive's metadata) answers {}
                return {name: Summary(int(s["count"]), str(s["key_checksum"])) for name, s in summaries.items()}
        with urllib.request.urlopen(url + "/_emulator/truth", timeout=3600) as response:
            records: dict[str, list[dict[str, Any]]] = json.load(response)
        return dict(records)

    return truth


def http_emulator(name: str, url_variable: str, api_path: str, *options: str) -> Callable[[int, Path], RunningEmulator]:
    """Starter of one HTTP emulator, pointed at by the extractor's own ``*_API_URL`` variable."""

    def start(volume: int, _: Path) -> RunningEmulator:
        command = [str(BIN / "python"), "-m", "emulators", "serve", name, "--volume", str(volume), "--port", "0"]
        command += [arg for option in options for arg in ("--option", option)]
        proc, url = _start_process(command)
        return RunningEmulator(proc, {url_variable: url + api_path}, _http_truth(url))

    return start


def adaptive_emulator(volume: int, _: Path) -> RunningEmulator:
    """Adaptive's metadata summaries, plus exportData's truth for the very calls each job made.

    The cells depend on the call (versions, accounts, levels, periods the tap asked for), so after each job
    every exportData body in the emulator's request log is answered again by ``/_emulator/export_summary``
    (cells and their numeric sum, no rows held) and summed.
    """
    command = [str(BIN / "python"), "-m", "emulators", "serve", "adaptive", "--volume", str(volume), "--port", "0"]
    proc, url = _start_process(command)

    def export_truth() -> Truth:
        with urllib.request.urlopen(url + "/_emulator/requests", timeout=600) as response:
            bodies = [str(r.get("body") or "") for r in json.load(response)]
        cells, value_sum = 0, 0.0
        for body in bodies:
            if 'method="exportData"' not in body:
                continue
            request = urllib.request.Request(
                url + "/_emulator/export_summary", data=body.encode(), headers={"Content-Type": "text/xml"}
            )
            with urllib.request.urlopen(request, timeout=3600) as response:
                summary = json.load(response)
            cells += int(summary["cells"])
            value_sum += float(summary["value_sum"])
        return {"export_data": CellSummary(cells, round(value_sum, 2))}

    def forget() -> None:
        request = urllib.request.Request(url + "/_emulator/requests", method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()

    return RunningEmulator(proc, {"TAP_ADAPTIVE_API_URL": url + "/api/v38"}, _http_truth(url), export_truth, forget)


def xactly_emulator(volume: int, workdir: Path) -> RunningEmulator:
    """H2 over TCP; its ground truth is the same seeded generator the emulator loaded the database from."""
    command = [str(BIN / "python"), "-m", "emulators", "serve", "xactly", "--port", "0", "--volume", str(volume)]
    proc, url = _start_process([*command, "--workdir", str(workdir / "xactly")])

    def truth() -> Truth:
        from emulators.xactly.data import XactlyData  # noqa: PLC0415 - only the Xactly rows need it

        return dict(XactlyData(seed=1, volume=volume).truth())

    return RunningEmulator(proc, {"TAP_XACTLY_JDBC_URL": url}, truth)


@dataclass(frozen=True)
class Source:
    """One dev job and how to start the source it reads."""

    job: str
    extractor: str
    tap: str
    start: Callable[[int, Path], RunningEmulator]
    #: Default volume (the emulator's --volume): records per collection, tickets, rows per table...
    volume: int


SOURCES: dict[str, Source] = {
    "zengrc": Source(
        "zengrc-to-warehouse",
        "tap-zengrc",
        "landing-tap-zengrc",
        http_emulator("zengrc", "TAP_ZENGRC_API_URL", "/api/v2"),
        10_000,
    ),
    "xactly": Source("xactly-to-warehouse", "tap-xactly", "landing-tap-xactly", xactly_emulator, 10_000),
    "adaptive": Source(
        "adaptive-to-warehouse",
        "tap-adaptive",
        "landing-tap-adaptive",
        adaptive_emulator,
        1_000,
    ),
    "zendesk": Source(
        "zendesk-to-warehouse",
        "tap-zendesk",
        "landing-tap-zendesk",
        http_emulator("zendesk", "TAP_ZENDESK_API_URL", "/api/v2"),
        10_000,
    ),
    "zendesk-community-relations": Source(
        "zendesk-community-relations-to-warehouse",
        "tap-zendesk--community-relations",
        "landing-tap-zendesk",
        # Meltano's own variable of the inherited plugin (double underscore): it outranks the dev
        # environment's api_url, which TAP_ZENDESK_COMMUNITY_RELATIONS_API_URL (the prod mapping) does not.
        http_emulator("zendesk", "TAP_ZENDESK__COMMUNITY_RELATIONS_API_URL", "/api/v2", "account=community"),
        10_000,
    ),
}


# -- process trees ---------------------------------------------------------------------------------


def role_of(proc: psutil.Process, root_pid: int) -> str:
    """Which part of the pipeline a process is, from its command line."""
    if proc.pid == root_pid:
        return "meltano"
    command = " ".join(proc.cmdline())
    if "pii-hashed-tap" in command:
        return "launcher"
    if "landing-tap-" in command:
        return "tap"
    if "target-warehouse" in command:
        return "loader"
    return "other"


@dataclass
class TreeSampler:
    """Samples process trees in a thread: peak RSS per role (sum over the role's processes) and CPU."""

    roots: dict[str, psutil.Process]
    peak_rss: dict[str, int] = field(default_factory=dict)
    _cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        rss: dict[str, int] = {}
        for fixed_role, root in self.roots.items():
            with contextlib.suppress(psutil.Error):
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                        role = fixed_role if fixed_role != "meltano" else role_of(proc, root.pid)
                        if role == "other" and proc.pid in self._cpu:
                            # An exited child not yet reaped has no command line: keep the role it had.
                            role = self._cpu[proc.pid][0]
                        with proc.oneshot():
                            rss[role] = rss.get(role, 0) + proc.memory_info().rss
                            times = proc.cpu_times()
                        self._cpu[proc.pid] = (role, times.user + times.system)
        for role, value in rss.items():
            self.peak_rss[role] = max(value, self.peak_rss.get(role, 0))

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    @contextlib.contextmanager
    def running(self) -> Iterator[TreeSampler]:
        thread = threading.Thread(target=self._loop, daemon=True)
        self._sample()
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU (user + sys) per role as last sampled: a process's final ~0.1 s may be missing."""
        totals: dict[str, float] = {}
        for role, seconds in self._cpu.values():
            totals[role] = totals.get(role, 0.0) + seconds
        return {role: round(seconds, 2) for role, seconds in sorted(totals.items())}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- Meltano sandbox --------------------------------------------------------------------------------


def sandbox_env(folder: Path, pycache: Path, extra: dict[str, str]) -> dict[str, str]:
    """Meltano isolated in ``folder``: own warehouse, state, system database and ``.meltano/run``.

    Meltano writes each run's catalog and config under fixed names in ``.meltano/run/<plugin>/``,
    so the sandbox gets its own folder with the project's plugin venvs linked in. Bytecode is cached
    (in ``pycache``) as on any normal install: this box sets PYTHONDONTWRITEBYTECODE, which adds
    seconds of recompiling the SDK to every process start.
    """
    sys_dir = folder / "meltano-sys"
    if not sys_dir.exists():
        sys_dir.mkdir(parents=True)
        for entry in (ROOT / ".meltano").iterdir():
            if entry.is_dir() and entry.name != "run":
                (sys_dir / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "PYTHONPYCACHEPREFIX": str(pycache),
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_STATE_BACKEND_URI": f"file://{folder / 'state'}",
            "MELTANO_DATABASE_URI": f"sqlite:///{folder / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            "TARGET_WAREHOUSE_FILEPATH": str(folder / "warehouse.duckdb"),
            "NO_COLOR": "1",
            **extra,
        }
    )
    return env


def run_measured(
    label: str, command: list[str], env: dict[str, str], emulator: psutil.Process, stdout: Any = subprocess.DEVNULL
) -> dict[str, Any]:
    """Run ``command`` to completion while sampling its tree and the emulator's; raise if it fails."""
    before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=err)
        sampler = TreeSampler({"meltano": psutil.Process(proc.pid), "emulator": emulator})
        with sampler.running():
            proc.wait()
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            msg = f"{label}: {' '.join(command)} exited {proc.returncode}:\n{tail}"
            raise RuntimeError(msg)
    peak = {role: round(value / 1e6, 1) for role, value in sorted(sampler.peak_rss.items())}
    if label == "tap alone":  # the measured process itself is the tap
        peak = {"tap" if role == "meltano" else role: value for role, value in peak.items()}
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak,
        "cpu_seconds": sampler.cpu_seconds(),
        "load_average_before": before,
        "load_average_after": load_average(),
    }


# -- ground truth ---------------------------------------------------------------------------------


def table_name(collection: str) -> str:
    """The emulator names collections as the vendor API does (``exportUsers``); streams are snake_case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", collection).lower()


def _key(values: tuple[Any, ...]) -> tuple[str, ...]:
    """Compare keys as text: the warehouse may type an id differently from the emulator's JSON."""
    return tuple("" if v is None else str(v) for v in values)


def _sorted_key_checksum(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    """The emulator's key checksum redone on what landed: sorted keys, one per line, SHA-256."""
    digest = hashlib.sha256()
    cursor = con.execute(f'SELECT "{column}" FROM {table} ORDER BY 1')
    while rows := cursor.fetchmany(65_536):
        digest.update(("\n".join(str(row[0]) for row in rows) + "\n").encode())
    return digest.hexdigest()


def check_warehouse(path: Path, truth: Truth) -> dict[str, Any]:
    """Rows per landed table, and per emulator collection that landed: count and primary keys equal."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {
            name: f'"{schema}"."{name}"'
            for schema, name in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        }
        keys = {
            name: list(columns)
            for name, columns in con.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        }
        landed = {
            name: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for name, table in tables.items()
        }
        checked: dict[str, Any] = {}
        for collection, expected in truth.items():
            name = table_name(collection)
            if name not in tables:
                continue
            key = keys.get(name, [])
            if isinstance(expected, CellSummary):
                count, total = con.execute(f"SELECT count(*), coalesce(sum(value), 0) FROM {tables[name]}").fetchone()  # type: ignore[misc]
                checked[name] = {
                    "truth_rows": expected.cells,
                    "landed_rows": int(count),
                    "truth_value_sum": expected.value_sum,
                    "landed_value_sum": round(float(total), 2),
                    "ok": int(count) == expected.cells
                    and abs(float(total) - expected.value_sum) <= 1e-6 * max(1.0, abs(expected.value_sum)),
                }
                continue
            if isinstance(expected, Summary):
                entry: dict[str, Any] = {"truth_rows": expected.count, "landed_rows": landed[name], "key": key}
                entry["ok"] = landed[name] == expected.count
                if len(key) == 1:
                    entry["keys_equal"] = _sorted_key_checksum(con, tables[name], key[0]) == expected.key_checksum
                    entry["ok"] = entry["ok"] and entry["keys_equal"]
                checked[name] = entry
                continue
            entry = {"truth_rows": len(expected), "landed_rows": landed[name]}
            case = {column.upper(): column for column in (expected[0] if expected else {})}
            truth_columns = [case.get(column.upper()) for column in key]
            if key and all(truth_columns):
                wanted = {_key(tuple(r.get(c) for c in truth_columns)) for r in expected}  # type: ignore[arg-type]
                columns = ", ".join(f'"{column}"' for column in key)
                got = {_key(row) for row in con.execute(f"SELECT {columns} FROM {tables[name]}").fetchall()}
                entry["key"] = key
                entry["keys_equal"] = wanted == got
                entry["ok"] = entry["keys_equal"] and landed[name] == len(expected)
            else:
                entry["ok"] = landed[name] == len(expected)
            checked[name] = entry
    return {
        "landed_rows": sum(landed.values()),
        "tables": len(landed),
        "checked": checked,
        "unchecked_tables": sorted(set(landed) - set(checked)),
        "ok": bool(checked) and all(entry["ok"] for entry in checked.values()),
    }


# -- one source --------------------------------------------------------------------------------------


def dump(kind: str, source: Source, env: dict[str, str], path: Path) -> Path:
    """What Meltano hands the extractor (``--dump=config|catalog``), for the tap-alone run."""
    out = subprocess.run(
        [MELTANO, "invoke", f"--dump={kind}", source.extractor], cwd=ROOT, env=env, capture_output=True, check=False
    )
    if out.returncode != 0:
        msg = f"meltano invoke --dump={kind} {source.extractor} exited {out.returncode}: {out.stderr[-2000:]!r}"
        raise RuntimeError(msg)
    path.write_bytes(out.stdout)
    return path


def tap_executable(source: Source) -> str:
    """The bare tap in the extractor's venv (an inherited extractor shares its parent's venv)."""
    for plugin in (source.extractor, source.extractor.split("--")[0]):
        candidate = ROOT / ".meltano" / "extractors" / plugin / "venv" / "bin" / source.tap
        if candidate.exists():
            return str(candidate)
    msg = f"{source.tap} not found in .meltano/extractors/{source.extractor}: run `meltano install`"
    raise RuntimeError(msg)


def bench_source(name: str, volume: int, rounds: int, workdir: Path, *, job_only: bool = False) -> dict[str, Any]:
    source = SOURCES[name]
    folder = workdir / name
    folder.mkdir()
    pycache = workdir / "pycache"
    started = time.perf_counter()
    emulator = source.start(volume, folder)
    startup = time.perf_counter() - started
    try:
        emulator_proc = psutil.Process(emulator.process.pid)
        truth = emulator.truth()
        e2e_runs: list[dict[str, Any]] = []
        tap_runs: list[dict[str, Any]] = []
        checks: list[dict[str, Any]] = []
        prepared = sandbox_env(folder / "prepare", pycache, emulator.env)
        config = dump("config", source, prepared, folder / "config.json")
        catalog = dump("catalog", source, prepared, folder / "catalog.json")
        tap_command = [tap_executable(source), "--config", str(config), "--catalog", str(catalog)]
        for round_number in range(rounds):
            sandbox = folder / f"round-{round_number}"
            env = sandbox_env(sandbox, pycache, emulator.env)
            emulator.forget_requests()
            e2e = run_measured("meltano run", [MELTANO, "run", source.job], env, emulator_proc)
            check = check_warehouse(sandbox / "warehouse.duckdb", {**truth, **emulator.run_truth()})
            e2e["records"] = check["landed_rows"]
            e2e["records_per_second"] = round(check["landed_rows"] / e2e["seconds"], 1)
            e2e_runs.append(e2e)
            checks.append(check)
            shutil.rmtree(sandbox)
            if job_only:
                print(f"  {name} round {round_number + 1}: job {e2e['seconds']} s", flush=True)
                continue
            tap = run_measured("tap alone", tap_command, env, emulator_proc)
            tap["records_per_second"] = round(check["landed_rows"] / tap["seconds"], 1)
            tap_runs.append(tap)
            print(
                f"  {name} round {round_number + 1}: job {e2e['seconds']} s, tap alone {tap['seconds']} s", flush=True
            )
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=60)
        if emulator.process.stdout is not None:
            emulator.process.stdout.close()
    e2e_rate = statistics.median(run["records_per_second"] for run in e2e_runs)
    tap_rate = statistics.median(run["records_per_second"] for run in tap_runs) if tap_runs else 0.0
    return {
        "job": source.job,
        "emulator_volume": volume,
        "emulator_startup_seconds": round(startup, 1),
        "records": checks[-1]["landed_rows"],
        "warehouse_matches_truth": all(check["ok"] for check in checks),
        "job_records_per_second": round(e2e_rate),
        "tap_alone_records_per_second": round(tap_rate) if tap_runs else None,
        "job_vs_tap_alone": round(e2e_rate / tap_rate, 3) if tap_rate else None,
        "peak_rss_mb": {
            role: max(run["peak_rss_mb"].get(role, 0.0) for run in e2e_runs)
            for role in sorted({role for run in e2e_runs for role in run["peak_rss_mb"]})
        },
        "truth_check": checks[-1],
        "job_runs": e2e_runs,
        "tap_alone_runs": tap_runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", choices=list(SOURCES), help="repeatable; default: every dev job")
    parser.add_argument(
        "--volume", action="append", default=[], metavar="SOURCE=N", help="emulator --volume of a source"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of job and tap alone")
    parser.add_argument(
        "--job-only", action="store_true", help="no tap-alone runs (memory and rate of the job at large volumes)"
    )
    parser.add_argument("--smoke", action="store_true", help=f"volume {SMOKE_VOLUME}, one round (a CI smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS / "e2e.json")
    arguments = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(arguments)
    volumes = {name: SMOKE_VOLUME if args.smoke else source.volume for name, source in SOURCES.items()}
    for item in args.volume:
        name, _, value = item.partition("=")
        if name not in SOURCES or not value.isdigit():
            parser.error(f"--volume {item!r}: expected SOURCE=N with SOURCE one of {', '.join(SOURCES)}")
        volumes[name] = int(value)
    rounds = 1 if args.smoke else args.rounds
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        for name in args.source or list(SOURCES):
            print(f"==> {name} at volume {volumes[name]}", flush=True)
            try:
                results[name] = bench_source(name, volumes[name], rounds, Path(tmp), job_only=args.job_only)
            except RuntimeError as exc:
                failures[name] = " ".join(str(exc).split())[-1500:]
                print(f"  {name} failed: {failures[name]}", flush=True)
                continue
            summary = {k: v for k, v in results[name].items() if not isinstance(v, (dict, list))}
            print("  " + json.dumps({**summary, "peak_rss_mb": results[name]["peak_rss_mb"]}), flush=True)
    document: dict[str, Any] = {
        "benchmark": "e2e",
        "command": "python -m bench.bench_e2e " + " ".join(arguments),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "targets": {"job_records_per_second": 30_000, "job_vs_tap_alone": 0.8, "records": 1_000_000},
        "rounds": rounds,
        "sources": results,
        "failed": failures,
    }
    previous = json.loads(args.output.read_text()) if args.output.exists() and not args.smoke else {}
    if previous.get("sources") and args.source:  # some sources re-measured: keep the others' last results
        document["sources"] = {**previous["sources"], **results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(args.output)
    ok = not failures and all(result["warehouse_matches_truth"] for result in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
