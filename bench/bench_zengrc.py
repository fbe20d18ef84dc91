"""tap-zengrc vs the floor: the same pages read with plain `requests` + orjson and no Singer output.

    .venv/bin/python -m bench.bench_zengrc [--records 100000] [--small 10000] [--rounds 3]

Both read the same emulator process (its own core) with the same page size. Reported: records/s of
each, their ratio (target: tap >= 35% of the floor), and the tap's peak RSS at the small and the
large volume (target: within 1.2x). Results: bench/results/zengrc.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import requests

from bench.emulator_process import served
from bench.harness import Measurement, measure, write_result
from emulators.zengrc import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET

PAGE_SIZE = 500
COLLECTION = "issues"
TAP = str(Path(sys.executable).with_name("landing-tap-zengrc"))


def floor(url: str) -> int:
    """Page through the collection as fast as Python reasonably can; return the record count."""
    session = requests.Session()
    session.auth = (DEFAULT_KEY_ID, DEFAULT_KEY_SECRET)
    href: str | None = f"/api/v2/{COLLECTION}?page_size={PAGE_SIZE}"
    count = 0
    while href:
        body = orjson.loads(session.get(url + href, timeout=60).content)
        count += len(body["data"])
        href = (body["links"].get("next") or {}).get("href")
    return count


def run_volume(records: int, rounds: int) -> dict[str, Any]:
    with served("zengrc", "--volume", str(records), "--option", f"only={COLLECTION}") as url:
        config = {
            "api_url": f"{url}/api/v2",
            "username": DEFAULT_KEY_ID,
            "password": DEFAULT_KEY_SECRET,
            "page_size": PAGE_SIZE,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(config, handle)
        catalog = Path(handle.name).with_suffix(".catalog.json")
        discovered = json.loads(
            subprocess.run([TAP, "--config", handle.name, "--discover"], capture_output=True, check=True).stdout
        )
        for stream in discovered["streams"]:
            selected = stream["tap_stream_id"] == COLLECTION
            for entry in stream["metadata"]:
                if not entry["breadcrumb"]:
                    entry["metadata"]["selected"] = selected
        catalog.write_text(json.dumps(discovered))
        floors: list[Measurement] = []
        taps: list[Measurement] = []
        for _ in range(rounds):  # interleaved, so drift on a noisy machine hits both alike
            floors.append(measure("floor", [sys.executable, "-m", "bench.bench_zengrc", "--floor", url], records))
            taps.append(measure("tap", [TAP, "--config", handle.name, "--catalog", str(catalog)], records))
    floor_rps = statistics.median(m.records_per_second for m in floors)
    tap_rps = statistics.median(m.records_per_second for m in taps)
    return {
        "records": records,
        "floor_records_per_second": round(floor_rps),
        "tap_records_per_second": round(tap_rps),
        "ratio": round(tap_rps / floor_rps, 3),
        "tap_peak_rss_mb": round(max(m.peak_rss_mb for m in taps), 1),
        "floor_peak_rss_mb": round(max(m.peak_rss_mb for m in floors), 1),
        "runs": [m.as_dict() for m in floors + taps],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--floor", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor(args.floor)
        return 0
    small = run_volume(args.small, args.rounds)
    large = run_volume(args.records, args.rounds)
    summary = {
        "target": "tap >= 0.35 x floor records/s; tap peak RSS(large)/RSS(small) <= 1.2",
        "ratio_at_large": large["ratio"],
        "rss_growth_large_over_small": round(float(large["tap_peak_rss_mb"]) / float(small["tap_peak_rss_mb"]), 3),
        "small": small,
        "large": large,
    }
    path = write_result("zengrc", summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in {"small", "large"}}, indent=2))
    for label, result in ((args.small, small), (args.records, large)):
        floor_rps, tap_rps = result["floor_records_per_second"], result["tap_records_per_second"]
        print(f"ratio at {label}: {result['ratio']}; floor {floor_rps}/s, tap {tap_rps}/s")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
