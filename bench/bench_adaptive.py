"""tap-adaptive vs the floor: the same XML/CSV fetched and parsed with lxml + csv, nothing emitted.

    .venv/bin/python -m bench.bench_adaptive [--accounts 50000] [--data-accounts 200] [--levels 270] [--rounds 2]

Two workloads on one emulator process (its own core):
- exportData of one large version (>= 1M cells: data accounts x leaf levels x 24 months), long format,
  one record per cell. Floor: POST the very body the tap sent (read back from the emulator's request
  log), parse the XML with lxml, split the CDATA CSV with the csv module, count cells.
- exportAccounts of a deep tree (50k nodes). Floor: POST the same body, lxml parse, read every
  account's attributes.
exportData runs both ways the tap can land cells: RECORD messages (the SDK's per-record path) and
BATCH files (``batch_config``, jsonl without compression, 100k cells a file), rounds interleaved with
the floor. Reported: records/s of each, ratio to the floor (target: >= 0.35), peak RSS of the tap, and
for exportData the tap's peak RSS at a quarter of the volume, to show memory follows the response,
not the record count. Results: bench/results/<--result>.json (default adaptive.json).

    python -m bench.bench_adaptive --data-accounts 2000 --rounds 1 --skip-accounts --paths batch --result adaptive_10m
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from bench.emulator_process import served
from bench.harness import Measurement, measure, write_result
from emulators.adaptive.model import WELL_KNOWN_CODES

TAP = str(Path(sys.executable).with_name("landing-tap-adaptive"))
#: Every measured process runs with bytecode cached, as in any installed venv: a shell exporting
#: PYTHONDONTWRITEBYTECODE would otherwise make each run compile the SDK again (~1 s of CPU per run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-adaptive-pyc-")


def timed(label: str, command: list[str], **kwargs: Any) -> Measurement:
    """``measure`` with the bench's environment, plus the CPU seconds (user + system) the run cost.

    CPU seconds are what a loaded box does not inflate: wall time there includes waiting for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured = measure(label, command, 0, env=ENV, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU_SECONDS[id(measured)] = round(cpu, 2)
    return measured


#: CPU seconds of each measurement (Measurement is the shared harness' dataclass; kept beside it).
CPU_SECONDS: dict[int, float] = {}


def _described(measured: Measurement) -> dict[str, Any]:
    return {**measured.as_dict(), "cpu_seconds": CPU_SECONDS.get(id(measured))}


LOGIN, PASSWORD = "emulator@example.com", "emulator-password"


# -- floors (run as `python -m bench.bench_adaptive floor-data|floor-accounts URL BODYFILE`) --------


def floor_data(url: str, body: bytes) -> int:
    response = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=600)
    root = etree.fromstring(response.content, etree.XMLParser(huge_tree=True, resolve_entities=False))
    text = root.findtext("output") or ""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    periods = sum(1 for h in header if not h.endswith((" Name", " Code")))
    return sum(periods for _ in reader)


def floor_accounts(url: str, body: bytes) -> int:
    response = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=600)
    root = etree.fromstring(response.content, etree.XMLParser(huge_tree=True, resolve_entities=False))
    count = 0
    for element in root.iter("account"):
        dict(element.attrib)
        count += 1
    return count


# -- runs ------------------------------------------------------------------------------------------


def _requests(origin: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{origin}/_emulator/requests", timeout=60) as response:
        return list(json.load(response))


def _clear(origin: str) -> None:
    request = urllib.request.Request(f"{origin}/_emulator/requests", method="DELETE")
    urllib.request.urlopen(request, timeout=60).close()


def _catalog(config_path: str, streams: set[str]) -> str:
    discovered = json.loads(
        subprocess.run([TAP, "--config", config_path, "--discover"], capture_output=True, check=True).stdout
    )
    for stream in discovered["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in streams
    path = Path(config_path).with_suffix(".catalog.json")
    path.write_text(json.dumps(discovered))
    return str(path)


def _write(payload: dict[str, Any]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    return handle.name


def _best(runs: list[Measurement]) -> Measurement:
    return min(runs, key=lambda m: m.seconds)


def bench_data(origin: str, codes: list[str], rounds: int, label: str, paths: list[str]) -> dict[str, Any]:
    """Both exportData paths (RECORD messages, BATCH files) and the floor, interleaved round by round."""
    config = {
        "api_url": f"{origin}/api/v38",
        "username": LOGIN,
        "password": PASSWORD,
        "export_data_version_folder": "Archive",  # one leaf version: "FY23 Final"
        "export_data_account_codes": codes,
        "export_data_include_rollup_levels": False,
        "export_data_include_rollup_accounts": False,
    }
    batch_root = Path(tempfile.mkdtemp(prefix="bench-adaptive-batches-"))
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": batch_root.as_uri()},
        "batch_size": 100_000,
    }
    every = {"records": config, "batch": {**config, "batch_config": batch_config}}
    configs = {path: _write(every[path]) for path in paths}
    catalog = _catalog(next(iter(configs.values())), {"export_versions", "export_data"})
    runs: dict[str, list[Measurement]] = {path: [] for path in configs}
    floors: list[Measurement] = []
    body_path: Path | None = None
    try:
        for _ in range(rounds):
            for path, config_path in configs.items():
                _clear(origin)
                runs[path].append(timed(f"tap {label} ({path})", [TAP, "--config", config_path, "--catalog", catalog]))
                shutil.rmtree(batch_root, ignore_errors=True)
            if body_path is None:
                (call,) = [r for r in _requests(origin) if 'method="exportData"' in r["body"]]
                body_path = Path(_write({})).with_suffix(".xml")
                body_path.write_bytes(call["body"].encode())
            command = [sys.executable, "-m", "bench.bench_adaptive", "floor-data", f"{origin}/api/v38", str(body_path)]
            floors.append(timed(f"floor {label}", command, stdout=subprocess.PIPE))
    finally:
        shutil.rmtree(batch_root, ignore_errors=True)
    assert body_path is not None
    body = body_path.read_bytes()
    cells = count_cells(origin, body)
    floor = _best(floors)
    floor.records = cells
    result: dict[str, Any] = {
        "cells": cells,
        "response_mb": round(response_size(origin, body) / 1e6, 1),
        "floor": _described(floor),
        "floor_seconds_all_rounds": [round(m.seconds, 2) for m in floors],
        "floor_cpu_seconds_all_rounds": [CPU_SECONDS[id(m)] for m in floors],
    }
    for path, measured in runs.items():
        best = _best(measured)
        best.records = cells
        result[f"tap_{path}"] = _described(best)
        result[f"ratio_{path}"] = round(best.records_per_second / floor.records_per_second, 3)
        result[f"tap_{path}_seconds_all_rounds"] = [round(m.seconds, 2) for m in measured]
        cpu = [CPU_SECONDS[id(m)] for m in measured]
        result[f"tap_{path}_cpu_seconds_all_rounds"] = cpu
        result[f"cpu_ratio_{path}"] = round(min(CPU_SECONDS[id(m)] for m in floors) / min(cpu), 3)
    return result


def count_cells(origin: str, body: bytes) -> int:
    return floor_data(f"{origin}/api/v38", body)


def response_size(origin: str, body: bytes) -> int:
    request = urllib.request.Request(f"{origin}/api/v38", data=body, headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return len(response.read())


def bench_accounts(origin: str, rounds: int) -> dict[str, Any]:
    config_path = _write({"api_url": f"{origin}/api/v38", "username": LOGIN, "password": PASSWORD})
    catalog = _catalog(config_path, {"export_accounts"})
    taps = []
    for _ in range(rounds):
        _clear(origin)
        taps.append(timed("tap exportAccounts", [TAP, "--config", config_path, "--catalog", catalog]))
    (call,) = [r for r in _requests(origin) if 'method="exportAccounts"' in r["body"]]
    body_path = Path(_write({})).with_suffix(".xml")
    body_path.write_bytes(call["body"].encode())
    command = [sys.executable, "-m", "bench.bench_adaptive", "floor-accounts", f"{origin}/api/v38", str(body_path)]
    floors = [timed("floor exportAccounts", command) for _ in range(rounds)]
    nodes = floor_accounts(f"{origin}/api/v38", call["body"].encode())
    tap, floor = _best(taps), _best(floors)
    tap.records = floor.records = nodes
    return {
        "nodes": nodes,
        "tap": _described(tap),
        "floor": _described(floor),
        "ratio": round(tap.records_per_second / floor.records_per_second, 3),
        "tap_seconds_all_rounds": [round(m.seconds, 2) for m in taps],
        "floor_seconds_all_rounds": [round(m.seconds, 2) for m in floors],
    }


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] in {"floor-data", "floor-accounts"}:
        run = floor_data if args_in[0] == "floor-data" else floor_accounts
        print(run(args_in[1], Path(args_in[2]).read_bytes()))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--data-accounts", type=int, default=200)
    parser.add_argument("--levels", type=int, default=270)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-accounts", action="store_true", help="exportData only")
    parser.add_argument("--result", default="adaptive", help="bench/results/<name>.json")
    parser.add_argument("--paths", default="records,batch", help="exportData paths to measure")
    args = parser.parse_args(args_in)
    options = [
        "--option", f"accounts={args.accounts}", "--option", f"data_accounts={args.data_accounts}",
        "--option", f"levels={args.levels}", "--option", "months=24", "--option", "combos_per_cell=1",
    ]  # fmt: skip
    codes = [f"Data_{i:04d}" for i in range(args.data_accounts)]
    codes[: len(WELL_KNOWN_CODES)] = WELL_KNOWN_CODES[: args.data_accounts]
    # Bytecode cached before anything is measured (see ENV): the tap's and the floor's imports.
    subprocess.run([TAP, "--about"], env=ENV, capture_output=True, check=True)
    subprocess.run([sys.executable, "-c", "import bench.bench_adaptive"], env=ENV, capture_output=True, check=True)
    with served("adaptive", "--seed", "5", *options) as origin:
        paths = args.paths.split(",")
        large = bench_data(origin, codes, args.rounds, "exportData large", paths)
        quarter = bench_data(origin, codes[: max(1, len(codes) // 4)], 1, "exportData quarter", paths)
        accounts = None if args.skip_accounts else bench_accounts(origin, args.rounds)
    result = {
        "command": "python -m bench.bench_adaptive " + " ".join(args_in),
        "target_ratio": 0.35,
        "export_data": large,
        "export_data_quarter_volume": {
            "cells": quarter["cells"],
            "response_mb": quarter["response_mb"],
            **{f"tap_{path}_peak_rss_mb": quarter[f"tap_{path}"]["peak_rss_mb"] for path in paths},
        },
        "export_accounts": accounts,
    }
    path = write_result(args.result, result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
