"""tap-zendesk vs a bare floor: tickets (cursor export) and ticket_audits (one request per ticket).

Run: ``.venv/bin/python -m bench.bench_zendesk [--tickets 100000] [--only tickets|ticket_audits]``.

The emulator runs in its own process (so it never shares a GIL with what is measured). For each
stream the floor is the same requests with ``requests`` + ``orjson.loads`` and nothing else (no
Singer output); the tap runs with only that stream selected, stdout to /dev/null. Requests are
counted by the emulator's request log; the minimum is what the API's page limits require
(ceil(tickets / 1000) export pages; one audits page per live ticket).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, measure, write_result

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EMAIL, TOKEN = "admin@main.example.com", "main-api-token"

FLOOR = r"""
import sys, orjson, requests
base, stream = sys.argv[1], sys.argv[2]
s = requests.Session(); s.auth = (sys.argv[3] + "/token", sys.argv[4])
records = requests_made = 0
params = {"start_time": 0, "per_page": 1000}
ticket_ids = []
while True:
    page = orjson.loads(s.get(base + "/incremental/tickets/cursor.json", params=params).content)
    requests_made += 1
    if stream == "tickets":
        records += len(page["tickets"])
    else:
        ticket_ids += [t["id"] for t in page["tickets"] if t["status"] != "deleted"]
    if page["end_of_stream"]:
        break
    params = {"cursor": page["after_cursor"], "per_page": 1000}
for ticket_id in ticket_ids:
    url = f"{base}/tickets/{ticket_id}/audits.json"
    params = {"page[size]": 100}
    while url:
        page = orjson.loads(s.get(url, params=params).content)
        requests_made += 1
        records += len(page["audits"])
        url, params = (page["links"]["next"], None) if page["meta"]["has_more"] else (None, None)
print(orjson.dumps({"records": records, "requests": requests_made}).decode())
"""


def bench_env(cache: Path) -> dict[str, str]:
    """Bytecode cached as on any normal install (this box sets PYTHONDONTWRITEBYTECODE, which would
    add ~3 s of recompiling the SDK to every tap start) — in a private folder, not in the venv."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def admin(url: str, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url + "/_emulator/" + path, method=method)
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def start_emulator(tickets: int) -> tuple[subprocess.Popen[bytes], str, float]:
    started = time.perf_counter()
    cmd = [str(BIN / "python"), "-m", "emulators", "serve", "zendesk", "--volume", str(tickets), "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    url = json.loads(proc.stdout.readline())["url"]
    return proc, url, time.perf_counter() - started


def catalog_for(config: Path, stream: str, workdir: Path) -> Path:
    out = subprocess.run(
        [str(BIN / "tap-zendesk"), "--config", str(config), "--discover"],
        check=True,
        capture_output=True,
        env=bench_env(workdir / "pycache"),
    ).stdout
    catalog = json.loads(out)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == stream
    path = workdir / f"catalog-{stream}.json"
    path.write_text(json.dumps(catalog))
    return path


def warm_up(url: str, workdir: Path) -> None:
    """Compile both sides' imports into the bytecode cache and let the emulator encode every ticket
    once, so neither the floor (measured first) nor the tap pays a one-off cost the other skips."""
    env = bench_env(workdir / "pycache")
    subprocess.run([str(BIN / "tap-zendesk"), "--about"], check=True, capture_output=True, env=env)
    floor = [str(BIN / "python"), "-c", FLOOR, url + "/api/v2", "tickets", EMAIL, TOKEN]
    subprocess.run(floor, check=True, capture_output=True, env=env)


def bench_stream(stream: str, url: str, config: Path, workdir: Path, truth: dict[str, int]) -> dict[str, Any]:
    base = url + "/api/v2"
    admin(url, "requests", "DELETE")
    floor_out = workdir / f"floor-{stream}.json"
    with floor_out.open("wb") as sink:
        floor = measure(
            f"floor {stream}",
            [str(BIN / "python"), "-c", FLOOR, base, stream, EMAIL, TOKEN],
            truth[stream],
            stdout=sink,
            env=bench_env(workdir / "pycache"),
        )
    floor_facts = json.loads(floor_out.read_text())
    assert floor_facts["records"] == truth[stream], (floor_facts, truth[stream])
    admin(url, "requests", "DELETE")
    catalog = catalog_for(config, stream, workdir)
    tap_out = workdir / f"tap-{stream}.jsonl"
    with tap_out.open("wb") as sink:
        tap = measure(
            f"tap-zendesk {stream}",
            [str(BIN / "tap-zendesk"), "--config", str(config), "--catalog", str(catalog)],
            truth[stream],
            stdout=sink,
            env=bench_env(workdir / "pycache"),
        )
    tap_requests = len(admin(url, "requests"))
    emitted = sum(1 for line in tap_out.open("rb") if line.startswith(b'{"type":"RECORD"'))
    assert emitted == truth[stream], (emitted, truth[stream])
    return {
        "records": truth[stream],
        "floor": {**floor.as_dict(), "requests": floor_facts["requests"]},
        "tap": {**tap.as_dict(), "requests": tap_requests},
        "ratio": round(tap.records_per_second / floor.records_per_second, 3),
        "minimum_requests": truth[f"{stream}_min_requests"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--only", choices=["tickets", "ticket_audits"])
    parser.add_argument("--name", default="zendesk", help="result file bench/results/<name>.json")
    args = parser.parse_args(argv)
    proc, url, startup = start_emulator(args.tickets)
    try:
        counts = admin(url, "truth?collection=tickets")["tickets"]
        live = [t for t in counts if t["status"] != "deleted"]
        audits = len(admin(url, "truth?collection=ticket_audits")["ticket_audits"])
        truth = {
            "tickets": len(counts),
            "tickets_min_requests": math.ceil(len(counts) / 1000),
            "ticket_audits": audits,
            "ticket_audits_min_requests": math.ceil(len(counts) / 1000) + len(live),
        }
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            config = workdir / "config.json"
            config.write_text(
                json.dumps(
                    {
                        "api_url": url + "/api/v2",
                        "email": EMAIL,
                        "api_token": TOKEN,
                        "start_date": "2020-01-01T00:00:00Z",
                    }
                )
            )
            warm_up(url, workdir)
            results = {}
            for stream in [args.only] if args.only else ["tickets", "ticket_audits"]:
                results[stream] = bench_stream(stream, url, config, workdir, truth)
                print(stream, json.dumps(results[stream]), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    previous = RESULTS / f"{args.name}.json"
    if args.only and previous.exists():  # one stream re-measured: keep the other's last result
        kept = json.loads(previous.read_text())
        if kept.get("tickets") == args.tickets:
            results = {**kept["streams"], **results}
    payload = {
        "command": "python -m bench.bench_zendesk " + " ".join(argv if argv is not None else sys.argv[1:]),
        "tickets": args.tickets,
        "emulator_startup_seconds": round(startup, 1),
        "target_ratio": 0.35,
        "streams": results,
    }
    print(write_result(args.name, payload))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
