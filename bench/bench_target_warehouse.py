"""Throughput of target-warehouse alone vs a floor: DuckDB's read_json of the same records into a table.

    .venv/bin/python -m bench.bench_target_warehouse [--records 100000] [--decimal]

The Singer input (~15 fields per record, nested objects and arrays, keyed) is generated once into a
temp folder; the target reads it with ``--input`` so no pipe or tap is timed. Numbers are plain JSON
Schema numbers, as every tap of the project declares them; ``--decimal`` declares ``amount`` with
``multipleOf: 0.01`` (a DECIMAL column, which the loader checks record by record in Python).
Results: bench/results/target_warehouse.json (``--decimal``: target_warehouse_decimal.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson

from bench.harness import measure, write_result

TARGET = str(Path(sys.executable).with_name("target-warehouse"))
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "priority": {"type": ["integer", "null"]},
        "score": {"type": ["number", "null"]},
        "amount": {"type": ["number", "null"]},
        "is_active": {"type": ["boolean", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "due_date": {"type": ["string", "null"], "format": "date"},
        "owner": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "custom_attributes": {"type": ["object", "null"]},
        "external_ref": {"type": ["string", "null"]},
    },
}


def _record(i: int, rng: random.Random, start: datetime) -> dict[str, object]:
    created = start + timedelta(seconds=i * 37)
    return {
        "id": i,
        "title": f"Control {i} {rng.choice(['access', 'backup', 'change', 'incident'])} review",
        "description": "Quarterly review of the control's evidence and owner sign-off. " * 2,
        "status": rng.choice(["Draft", "Active", "Deprecated"]),
        "priority": rng.randint(1, 5),
        "score": round(rng.random() * 100, 4),
        "amount": round(rng.random() * 10_000, 2),
        "is_active": rng.random() < 0.8,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "updated_at": (created + timedelta(hours=rng.randint(0, 500))).isoformat().replace("+00:00", "Z"),
        "due_date": (created + timedelta(days=90)).date().isoformat(),
        "owner": {
            "id": rng.randint(1, 500),
            "name": f"Person {rng.randint(1, 500)}",
            "email": "p@example.com",
        },
        "tags": rng.sample(["soc2", "iso27001", "gdpr", "hipaa", "pci"], k=2),
        "custom_attributes": {"region": rng.choice(["EU", "US"]), "risk": {"level": rng.randint(1, 3)}},
        "external_ref": f"EXT-{i:08d}",
    }


def generate(folder: Path, records: int) -> tuple[Path, Path]:
    """Write the Singer input and, for the floor, the bare records (same bytes per record)."""
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    singer, bare = folder / "singer.jsonl", folder / "records.jsonl"
    with singer.open("wb") as s_out, bare.open("wb") as b_out:
        s_out.write(orjson.dumps({"type": "SCHEMA", "stream": "controls", "schema": SCHEMA, "key_properties": ["id"]}))
        s_out.write(b"\n")
        for i in range(records):
            record = _record(i, rng, start)
            s_out.write(orjson.dumps({"type": "RECORD", "stream": "controls", "record": record}) + b"\n")
            b_out.write(orjson.dumps(record) + b"\n")
        s_out.write(b'{"type":"STATE","value":{"bookmarks":{"controls":{"id":1}}}}\n')
    return singer, bare


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--decimal", action="store_true", help="amount as DECIMAL(38,2) (multipleOf 0.01)")
    args = parser.parse_args()
    if args.decimal:
        SCHEMA["properties"]["amount"]["multipleOf"] = 0.01  # type: ignore[index]
    with tempfile.TemporaryDirectory(prefix="bench-tw-") as tmp:
        folder = Path(tmp)
        singer, bare = generate(folder, args.records)
        config = folder / "config.json"
        config.write_text(
            json.dumps(
                {
                    "filepath": str(folder / "target.duckdb"),
                    "default_target_schema": "BENCH",
                    "add_record_metadata": True,
                }
            )
        )
        load_before = [round(x, 2) for x in os.getloadavg()]
        cpu = _children_cpu()
        command = [TARGET, "--config", str(config), "--input", str(singer)]
        target = measure("target-warehouse", command, args.records)
        target_cpu, cpu = _children_cpu() - cpu, _children_cpu()
        floor_sql = f"CREATE TABLE controls AS SELECT * FROM read_json('{bare}', format = 'newline_delimited')"
        floor_code = f"import duckdb; duckdb.connect({str(folder / 'floor.duckdb')!r}).execute({floor_sql!r})"
        floor = measure("duckdb read_json floor", [sys.executable, "-c", floor_code], args.records)
        floor_cpu = _children_cpu() - cpu
        with duckdb.connect(str(folder / "target.duckdb"), read_only=True) as con:
            loaded = con.execute('SELECT count(*), count(DISTINCT id) FROM "BENCH".controls').fetchone()
    if loaded != (args.records, args.records):
        msg = f"target loaded {loaded} (rows, distinct ids), expected {args.records}"
        raise SystemExit(msg)
    ratio = target.records_per_second / floor.records_per_second
    cpu_ratio = floor_cpu / target_cpu if target_cpu else 0.0
    path = write_result(
        "target_warehouse_decimal" if args.decimal else "target_warehouse",
        {
            "command": f"python -m bench.bench_target_warehouse --records {args.records}"
            + (" --decimal" if args.decimal else ""),
            "fields_per_record": len(SCHEMA["properties"]),
            # CPU seconds (user + sys) as well as wall: the 2-core box is shared, wall time is noisy.
            "runs": [
                {**target.as_dict(), "cpu_seconds": round(target_cpu, 2)},
                {**floor.as_dict(), "cpu_seconds": round(floor_cpu, 2)},
            ],
            # The 2-core box is shared: its load average around the runs says how far wall times are stretched.
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "target_vs_floor": round(ratio, 3),
            "target_vs_floor_cpu": round(cpu_ratio, 3),
        },
    )
    for m, seconds in ((target, target_cpu), (floor, floor_cpu)):
        rate = f"{m.records_per_second:9.0f} rec/s"
        print(f"{m.label:24s} {m.seconds:6.2f} s {rate} cpu {seconds:5.1f} s peak {m.peak_rss_mb:.0f} MB")
    print(f"target / floor = {ratio:.1%} wall, {cpu_ratio:.1%} CPU  -> {path}")


if __name__ == "__main__":
    main()
