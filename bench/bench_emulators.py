"""Emulator memory and speed at 100k, 1M and 10M records: serve, page through everything once, check the truth.

    .venv/bin/python -m bench.bench_emulators [--volumes 100000 1000000 10000000] [--only zengrc zendesk adaptive]
        [--sample 1000000]

Each emulator runs in its own process (``python -m emulators serve``); this process pages through everything
with plain ``requests`` as a client would (ZenGRC: one collection, ``page_size=500`` via ``links.next``;
Zendesk: the tickets, users and organisations exports, 1000 a page, following ``after_url``/``next_page``;
Adaptive: one streamed ``exportData`` of ``volume`` cells). Reported per run: records served, seconds,
records/s, the emulator's resident memory after start-up and its peak (``VmHWM`` from ``/proc``, the
kernel's own high-water mark, so no sampling gap), and whether what was served matches the emulator's
ground truth (``/_emulator/summary``: count and sorted-key checksum; Adaptive: ``rowCountSent`` and the
expected row count). Target (issue 13): peak RSS <= 500 MB at any volume. ``--sample N`` stops a ZenGRC/Zendesk
read after N records (the run says ``"sampled": true``): memory is what a 10M-record source costs either way,
and on a shared 2-core box a full 16M-record Zendesk read takes hours; 0 reads everything.
Results: bench/results/emulators.json.
The Xactly emulator is H2 (a JVM) loaded from a CSV this package streams: bench_xactly.py covers it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import requests

from bench.harness import write_result
from emulators.adaptive.model import Instance, rng_factory

ZENGRC_AUTH = ("emulator-key-id", "emulator-key-secret")
ZENDESK_AUTH = {"Authorization": "Bearer main-oauth-token"}
ADAPTIVE_MONTHS = 24
ADAPTIVE_LEVELS = 504


def _memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = int(value.split()[0]) / 1024  # kB -> MB
    return fields


class Served:
    """``python -m emulators serve <name>`` in its own process."""

    def __init__(self, name: str, *args: str) -> None:
        self.command = [sys.executable, "-m", "emulators", "serve", name, "--port", "0", *args]
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            msg = f"emulator {name} exited before serving"
            raise RuntimeError(msg)
        self.url = str(json.loads(line)["url"])
        self.startup_seconds = time.perf_counter() - started
        self.rss_after_start_mb = _memory(self.proc.pid)["VmRSS"]

    def peak_rss_mb(self) -> float:
        return _memory(self.proc.pid)["VmHWM"]

    def summary(self, collection: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/_emulator/summary", params={"collection": collection}, timeout=3600)
        response.raise_for_status()
        result: dict[str, Any] = response.json()[collection]
        return result

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


class SeenKeys:
    """Which integer keys arrived (a bitmap between the truth's min and max key): repeats and gaps show."""

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.bits = bytearray(high - low + 1)
        self.served = 0

    def add(self, key: int) -> None:
        self.served += 1
        self.bits[key - self.low] = 1

    def keys(self) -> Iterator[int]:
        position = self.bits.find(1)
        while position >= 0:
            yield self.low + position
            position = self.bits.find(1, position + 1)

    def checksum(self) -> tuple[int, str]:
        """(distinct keys, SHA-256 of them ascending, one per line): the summary's ``key_checksum`` form."""
        digest, batch, count = hashlib.sha256(), [], 0
        for key in self.keys():
            batch.append(str(key))
            count += 1
            if len(batch) == 65_536:
                digest.update(("\n".join(batch) + "\n").encode())
                batch = []
        if batch:
            digest.update(("\n".join(batch) + "\n").encode())
        return count, digest.hexdigest()


def _matches(truth: dict[str, Any], seen: SeenKeys) -> bool:
    count, checksum = seen.checksum()
    return bool(count == truth["count"] and checksum == truth["key_checksum"])


def run_zengrc(volume: int, sample: int) -> dict[str, Any]:
    served = Served("zengrc", "--volume", str(volume), "--option", "only=issues")
    try:
        truth = served.summary("issues")
        seen = SeenKeys(truth["min_key"], truth["max_key"])
        session = requests.Session()
        session.auth = ZENGRC_AUTH
        started = time.perf_counter()
        url: str | None = f"{served.url}/api/v2/issues?page_size=500"
        while url:
            page = orjson.loads(session.get(url, timeout=600).content)
            for record in page["data"]:
                seen.add(record["id"])
            following = page["links"]["next"]
            url = f"{served.url}{following['href']}" if following else None
            if sample and seen.served >= sample:
                break
        seconds = time.perf_counter() - started
        matches = {"issues": _matches(truth, seen) if url is None else seen.checksum()[0] == seen.served}
        return _result(served, seen.served, seconds, matches, sampled=url is not None)
    finally:
        served.stop()


def _zendesk_export(session: requests.Session, url: str, name: str, seen: SeenKeys, budget: int) -> bool:
    """Follow one export (cursor ones by ``after_url``, time-based by ``next_page``); True if read to its end."""
    while True:
        page = orjson.loads(session.get(url, timeout=600).content)
        for record in page[name]:
            seen.add(record["id"])
        if page["end_of_stream"]:
            return True
        if budget and seen.served >= budget:
            return False
        url = page.get("after_url") or page["next_page"]


def run_zendesk(volume: int, sample: int) -> dict[str, Any]:
    served = Served("zendesk", "--volume", str(volume))
    try:
        session = requests.Session()
        session.headers.update(ZENDESK_AUTH)
        exports = {
            "tickets": "incremental/tickets/cursor.json",
            "users": "incremental/users/cursor.json",
            "organizations": "incremental/organizations.json",
        }
        truths = {name: served.summary(name) for name in exports}
        seen = {name: SeenKeys(t["min_key"], t["max_key"]) for name, t in truths.items()}
        started = time.perf_counter()
        whole: dict[str, bool] = {}
        for name, path in exports.items():
            left = max(sample - sum(s.served for s in seen.values()), 1) if sample else 0
            url = f"{served.url}/api/v2/{path}?start_time=0&per_page=1000"
            whole[name] = _zendesk_export(session, url, name, seen[name], left)
            if not whole[name]:
                break
        seconds = time.perf_counter() - started
        served_records = sum(s.served for s in seen.values())
        matches = {n: _matches(truths[n], seen[n]) for n in exports if whole.get(n)}
        return _result(served, served_records, seconds, matches, sampled=not all(whole.get(n) for n in exports))
    finally:
        served.stop()


def adaptive_shape(volume: int) -> tuple[list[str], int]:
    """(data account codes, exportData rows) for about ``volume`` cells: 24 months per account x leaf level row."""
    leaves = len(Instance(rng_factory("adaptive", 1), 100, {"levels": ADAPTIVE_LEVELS}).leaf_levels)
    count = max(1, round(volume / (leaves * ADAPTIVE_MONTHS)))
    instance = Instance(rng_factory("adaptive", 1), 100, {"levels": ADAPTIVE_LEVELS, "data_accounts": count})
    return [n.attrs["code"] for n in instance.data_accounts], count * leaves


def run_adaptive(volume: int, sample: int) -> dict[str, Any]:
    del sample  # one streamed answer: always read whole
    codes, rows = adaptive_shape(volume)
    options = {"data_accounts": len(codes), "levels": ADAPTIVE_LEVELS, "months": ADAPTIVE_MONTHS, "combos_per_cell": 1}
    served = Served("adaptive", *[f"--option={k}={v}" for k, v in options.items()])
    try:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><call method="exportData" callerName="bench" stream="true">'
            '<credentials login="emulator@example.com" password="emulator-password"/>'
            '<version name="FY24 Plan" isDefault="false"/><format useInternalCodes="true" includeCodes="true"/>'
            '<rules includeZeroRows="true" markInvalidValues="false" markBlanks="false"/>'
            "<filters><accounts>"
            + "".join(f'<account code="{code}" isAssumption="false" includeDescendants="false"/>' for code in codes)
            + "</accounts></filters></call>"
        )
        started = time.perf_counter()
        newlines, tail = 0, b""
        with requests.post(f"{served.url}/api/v38", data=body.encode(), timeout=3600, stream=True) as response:
            for chunk in response.iter_content(1 << 20):
                newlines += chunk.count(b"\n")
                tail = (tail + chunk)[-300:]
        seconds = time.perf_counter() - started
        sent = re.search(rb'rowCountSent="(\d+)"', tail)
        # one newline ends the XML declaration, one the CSV header, then one per data row
        data_rows = newlines - 2
        cells = data_rows * ADAPTIVE_MONTHS
        matches = {"rows": data_rows == rows and sent is not None and int(sent.group(1)) == rows}
        result = _result(served, cells, seconds, matches)
        result["shape"] = {**options, "rows": data_rows}
        return result
    finally:
        served.stop()


def _result(
    served: Served, records: int, seconds: float, matches: dict[str, bool], *, sampled: bool = False
) -> dict[str, Any]:
    return {
        "records": records,
        "sampled": sampled,
        "seconds": round(seconds, 1),
        "records_per_second": round(records / seconds) if seconds else 0,
        "emulator_startup_seconds": round(served.startup_seconds, 2),
        "emulator_rss_after_start_mb": round(served.rss_after_start_mb, 1),
        "emulator_peak_rss_mb": round(served.peak_rss_mb(), 1),
        "truth_matches": matches,
        "emulator_command": " ".join(["python", *served.command[1:]]),
    }


RUNNERS = {"zengrc": run_zengrc, "zendesk": run_zendesk, "adaptive": run_adaptive}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--only", nargs="+", choices=sorted(RUNNERS), default=list(RUNNERS))
    parser.add_argument("--sample", type=int, default=1_000_000, help="records read per run at most (0: all)")
    parser.add_argument("--result", default="emulators", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {name: {} for name in args.only}
    command = "python -m bench.bench_emulators " + " ".join(sys.argv[1:] if argv is None else argv)
    for volume in args.volumes:
        for name in args.only:
            print(f"==> {name} at {volume:,}", flush=True)
            results[name][str(volume)] = RUNNERS[name](volume, args.sample)
            print(json.dumps(results[name][str(volume)]), flush=True)
            write_result(
                args.result,
                {
                    "command": command.strip(),
                    "target": "emulator peak RSS <= 500 MB at any volume; ground truth exact",
                    "results": results,
                },
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
