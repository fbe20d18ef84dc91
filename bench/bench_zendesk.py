"""tap-zendesk vs a bare floor: tickets (cursor export) and ticket_audits (one request per ticket).

Run: ``.venv/bin/python -m bench.bench_zendesk [--tickets 100000] [--only tickets|ticket_audits]``.

``--peers`` instead compares public extractors with ours on the same emulator: singer-io tap-zendesk
2.8.2 (built-in throttle removed, ``SINGER_UNCAP=1``), Airbyte source-zendesk-support 4.9.1 and this
project's tap, each run by the peer rig (``../shared/peers``, README there; ``setup.sh`` once, as root)
through its TLS front at ``https://bench.zendesk.com``, one after the other, tickets only. The emulator
serves with ``public_url=https://bench.zendesk.com`` (the peers follow its links) and the rig's token.
Results land under ``peers`` in ``bench/results/zendesk.json``, next to the floor comparison, with the
load average around each run (the box is shared).

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
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.harness import RESULTS, measure, write_result

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EMAIL, TOKEN = "admin@main.example.com", "main-api-token"
#: The peer rig: scripts that run public Zendesk extractors against an emulator behind a TLS front.
RIG = ROOT.parent / "shared" / "peers"
#: The host and token the rig's peers are configured with (they hard-code https://{subdomain}.zendesk.com).
RIG_PUBLIC_URL, RIG_TOKEN = "https://bench.zendesk.com", "bench-token"
#: Rig script, extra environment and time limit (seconds) per extractor, in run order.
PEERS: dict[str, tuple[str, dict[str, str], int]] = {
    "singer_uncapped": ("run_singer.sh", {"SINGER_UNCAP": "1"}, 1800),
    "airbyte": ("run_airbyte.sh", {}, 3000),
    "project": ("run_project.sh", {}, 600),  # PROJECT: see project_for_rig
}

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


def start_emulator(tickets: int, *options: str) -> tuple[subprocess.Popen[bytes], str, float]:
    started = time.perf_counter()
    cmd = [str(BIN / "python"), "-m", "emulators", "serve", "zendesk", "--volume", str(tickets), "--port", "0"]
    cmd += [arg for option in options for arg in ("--option", option)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    url = json.loads(proc.stdout.readline())["url"]
    return proc, url, time.perf_counter() - started


def catalog_for(config: Path, stream: str, workdir: Path) -> Path:
    out = subprocess.run(
        [str(BIN / "landing-tap-zendesk"), "--config", str(config), "--discover"],
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
    subprocess.run([str(BIN / "landing-tap-zendesk"), "--about"], check=True, capture_output=True, env=env)
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
            [str(BIN / "landing-tap-zendesk"), "--config", str(config), "--catalog", str(catalog)],
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


def parse_rig_result(line: str) -> dict[str, Any]:
    """``RESULT peer=x N=20000 records=20000 (OK) wall_s=22.0 ...`` as a dict (numbers as numbers)."""
    fields: dict[str, Any] = {"ok": "(OK)" in line.split()}
    for token in line.split()[1:]:
        key, sep, value = token.partition("=")
        if sep:
            try:
                fields[key] = int(value)
            except ValueError:
                try:
                    fields[key] = float(value)
                except ValueError:
                    fields[key] = value
    return fields


def machine() -> dict[str, Any]:
    """The facts ``write_result`` records, for the peers section written beside the floor results."""
    return {"cpus": psutil.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextmanager
def project_for_rig() -> Iterator[Path]:
    """A stand-in project folder for the rig's ``run_project.sh``, which runs ``$PROJECT/.venv/bin/tap-zendesk``.

    Our tap's executable is ``landing-tap-zendesk`` (the PyPI name ``tap-zendesk`` is singer-io's) and
    the rig cannot be edited, so the folder holds only ``.venv/bin/tap-zendesk`` and ``.venv/bin/python``,
    symbolic links to this venv's ``landing-tap-zendesk`` and python.
    """
    with tempfile.TemporaryDirectory(prefix="bench-zendesk-project-") as tmp:
        bin_dir = Path(tmp) / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "tap-zendesk").symlink_to(BIN / "landing-tap-zendesk")
        (bin_dir / "python").symlink_to(BIN / "python")
        yield Path(tmp)


def run_peer(name: str, tickets: int, port: int, rig: Path, project: Path) -> dict[str, Any]:
    """One rig script against the emulator on ``port``; its RESULT line plus the load around it."""
    script, extra, limit = PEERS[name]
    env = {**os.environ, **extra, "UPSTREAM_PORT": str(port), "PROJECT": str(project)}
    before = load_average()
    done = subprocess.run(
        ["bash", str(rig / script), str(tickets)], env=env, capture_output=True, text=True, timeout=limit, check=False
    )
    after = load_average()
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        msg = f"peer {name}: {script} {tickets} exited {done.returncode}: {(done.stdout + done.stderr)[-1500:]}"
        raise RuntimeError(msg)
    return {**parse_rig_result(results[-1]), "load_average_before": before, "load_average_after": after}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Best rate per tool, by wall clock and by CPU time, and ours over each peer's.

    Records per CPU second (user + sys of the extractor process) is the steadier figure on a
    shared box: wall time moves with the neighbours' load, the extractor's own CPU barely does.
    """
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for run in runs:
        tool, seconds = run["tool"], run["user_s"] + run["sys_s"]
        wall[tool] = max(wall.get(tool, 0.0), run["records_per_s"])
        cpu[tool] = max(cpu.get(tool, 0.0), round(run["records"] / seconds) if seconds else 0.0)

    def ours_over(best: dict[str, float]) -> dict[str, float]:
        if "project" not in best:
            return {}
        return {tool: round(best["project"] / rate, 1) for tool, rate in best.items() if tool != "project" and rate}

    return {
        "best_records_per_second": wall,
        "best_records_per_cpu_second": cpu,
        "project_vs_peer": ours_over(wall),
        "project_vs_peer_by_cpu": ours_over(cpu),
    }


def bench_peers(args: argparse.Namespace, argv: list[str]) -> int:
    """Each public extractor and ours, one after the other, against one emulator behind the rig's TLS front."""
    rig = Path(args.rig)
    if not (rig / "run_singer.sh").exists():
        print(f"--rig {rig}: no peer rig there (expected run_singer.sh; see ../shared/peers/README.md)")
        return 2
    options = (f"public_url={RIG_PUBLIC_URL}", f"access_token={RIG_TOKEN}")
    proc, url, startup = start_emulator(args.tickets, *options)
    runs: list[dict[str, Any]] = []
    try:
        port = int(url.rsplit(":", 1)[1])
        with project_for_rig() as project:
            for _ in range(args.rounds):
                for name in args.peer or list(PEERS):
                    runs.append({"tool": name, **run_peer(name, args.tickets, port, rig, project)})
                    print(json.dumps(runs[-1]), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    section = {
        "command": "python -m bench.bench_zendesk " + " ".join(argv),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "tickets": args.tickets,
        "emulator": f"python -m emulators serve zendesk --volume {args.tickets} "
        + " ".join(f"--option {o}" for o in options),
        "emulator_startup_seconds": round(startup, 1),
        "rig": "../shared/peers (run_singer.sh with SINGER_UNCAP=1, run_airbyte.sh, run_project.sh with PROJECT "
        "a folder whose .venv/bin/tap-zendesk links to landing-tap-zendesk)",
        **summarise(runs),
        "all_counts_ok": all(run["ok"] for run in runs),
        "runs": runs,
    }
    path = RESULTS / f"{args.name}.json"
    document = json.loads(path.read_text()) if path.exists() else {"benchmark": args.name}
    document["peers"] = section
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(path)
    return 0 if section["all_counts_ok"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=None, help="default 100000 (20000 with --peers)")
    parser.add_argument("--only", choices=["tickets", "ticket_audits"])
    parser.add_argument("--name", default="zendesk", help="result file bench/results/<name>.json")
    parser.add_argument("--peers", action="store_true", help="public extractors vs ours through the peer rig")
    parser.add_argument("--peer", action="append", choices=list(PEERS), help="with --peers: only these (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="with --peers: interleaved rounds")
    parser.add_argument("--rig", default=str(RIG), help="with --peers: the peer rig folder")
    arguments = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(arguments)
    if args.peers:
        args.tickets = args.tickets or 20_000
        return bench_peers(args, arguments)
    args.tickets = args.tickets or 100_000
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
    kept = json.loads(previous.read_text()) if previous.exists() else {}
    if args.only and kept.get("tickets") == args.tickets:  # one stream re-measured: keep the other's last result
        results = {**kept["streams"], **results}
    payload = {
        "command": "python -m bench.bench_zendesk " + " ".join(arguments),
        "tickets": args.tickets,
        "emulator_startup_seconds": round(startup, 1),
        "target_ratio": 0.35,
        "streams": results,
        **({"peers": kept["peers"]} if "peers" in kept else {}),  # measured separately with --peers
    }
    print(write_result(args.name, payload))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
