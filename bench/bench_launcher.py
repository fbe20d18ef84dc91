"""pii-hashed-tap's cost per record: the launcher between a tap and its loader, before and after issue 13.

Every extractor runs under the launcher, so its per-line work is paid on every record of every job. A stand-in
tap (``cat`` of a prepared file of SDK-shaped lines) isolates it: the floor is the tap alone to /dev/null;
"before" is the launcher as committed before this change (read from git, run with the same Python and the
same hashing package), "after" the installed one. Two mixes: every line of a stream without personal fields
(what Adaptive's exportData and most Zendesk/Xactly streams are), and one line in five of a hashed stream.
Rounds are interleaved; the median round is reported. Results: bench/results/launcher.json.

    python -m bench.bench_launcher [records] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Measurement, measure, write_result

ROOT = Path(__file__).resolve().parents[1]
#: The launcher before the header fast path (issue 13): it searched every line for each hashed stream's name.
BEFORE_COMMIT = "8075b0f~1"
BEFORE_PATH = "mappers/mapper-pii/mapper_pii/launcher.py"
KEY = "bench-key-0123456789abcdef"
CONFIG = {"hash_key": KEY, "hash_fields": {"people": ["name", "email"]}}


def lines(records: int, hashed_every: int | None) -> bytes:
    """SDK-shaped (msgspec, compact) messages: a SCHEMA per stream, then records, a STATE every 1000."""
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "subject": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    out = [
        json.dumps({"type": "SCHEMA", "stream": s, "schema": schema, "key_properties": ["id"]}, separators=(",", ":"))
        for s in ("tickets", "people")
    ]
    for n in range(records):
        stream = "people" if hashed_every and n % hashed_every == 0 else "tickets"
        record = {
            "id": n,
            "name": f"Person {n}",
            "email": f"person{n}@example.com",
            "subject": f"Subject line number {n} about an order and a refund",
            "updated_at": "2024-05-01T10:00:00+00:00",
        }
        message = {"type": "RECORD", "stream": stream, "record": record, "time_extracted": "2024-05-01T10:00:00Z"}
        out.append(json.dumps(message, separators=(",", ":")))
        if n % 1000 == 999:
            state = {"bookmarks": {"tickets": {"replication_key": "updated_at", "replication_key_value": str(n)}}}
            out.append(json.dumps({"type": "STATE", "value": state}, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_launcher")
    parser.add_argument("records", nargs="?", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-launcher-") as folder:
        work = Path(folder)
        before = work / "launcher_before.py"
        before.write_text(
            subprocess.run(
                ["git", "show", f"{BEFORE_COMMIT}:{BEFORE_PATH}"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        config = work / "config.json"
        config.write_text(json.dumps(CONFIG))
        mixes = {"no personal fields": None, "1 in 5 hashed": 5}
        results = {}
        for mix, every in mixes.items():
            data = work / f"lines-{every}.jsonl"
            data.write_bytes(lines(args.records, every))
            tap = work / f"tap-{every}"
            tap.write_text(f'#!/bin/sh\nexec cat "{data}"\n')
            tap.chmod(0o755)
            env = {**os.environ, "PII_TAP_EXECUTABLE": str(tap)}
            commands = {
                "floor (tap alone)": [str(tap)],
                "before": [sys.executable, str(before), "--config", str(config)],
                "after": [sys.executable, "-m", "mapper_pii.launcher", "--config", str(config)],
            }
            runs: dict[str, list[Measurement]] = {label: [] for label in commands}
            cpu: dict[str, list[float]] = {label: [] for label in commands}
            for _ in range(args.rounds):
                for label, command in commands.items():
                    used = _children_cpu()
                    runs[label].append(measure(label, command, args.records, env=env, cwd=ROOT))
                    cpu[label].append(_children_cpu() - used)
            seconds = {label: statistics.median(m.seconds for m in ms) for label, ms in runs.items()}
            cpu_seconds = {label: statistics.median(values) for label, values in cpu.items()}
            overhead = {
                label: round((seconds[label] - seconds["floor (tap alone)"]) / args.records * 1e6, 2)
                for label in ("before", "after")
            }
            cpu_overhead = {
                label: round((cpu_seconds[label] - cpu_seconds["floor (tap alone)"]) / args.records * 1e6, 2)
                for label in ("before", "after")
            }
            results[mix] = {
                "median_seconds": {label: round(s, 3) for label, s in seconds.items()},
                "launcher_overhead_us_per_record": overhead,
                "after_over_before": round(overhead["after"] / overhead["before"], 3) if overhead["before"] else None,
                # CPU time (user + sys) is what the launcher costs a busy machine; wall time also carries
                # waiting for a core on a shared box, and the process start (singer_sdk import) of each run.
                "launcher_cpu_us_per_record": cpu_overhead,
                "cpu_after_over_before": (
                    round(cpu_overhead["after"] / cpu_overhead["before"], 3) if cpu_overhead["before"] else None
                ),
                "median_cpu_seconds": {label: round(c, 3) for label, c in cpu_seconds.items()},
                "runs": {label: [m.as_dict() for m in ms] for label, ms in runs.items()},
            }
            print(
                f"{mix}: per record, wall before {overhead['before']} us, after {overhead['after']} us; "
                f"CPU before {cpu_overhead['before']} us, after {cpu_overhead['after']} us"
            )
    path = write_result(
        "launcher",
        {
            "command": f"python -m bench.bench_launcher {args.records} --rounds {args.rounds}",
            "records": args.records,
            "before": f"{BEFORE_COMMIT}:{BEFORE_PATH}",
            "results": results,
        },
    )
    print(f"wrote {path}")


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child (and their children) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
