"""Measure a command's wall time and peak RSS (whole process tree), and record results as JSON.

Benchmarks compare a tap with a floor measured in the same run (the machines are noisy), so every
result is a ratio, never an absolute threshold.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Measurement:
    """One timed run."""

    label: str
    records: int
    seconds: float
    peak_rss_mb: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_second": round(self.records_per_second, 1)}


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
            total += p.memory_info().rss
    return total


def measure(
    label: str,
    command: Sequence[str],
    records: int,
    env: Mapping[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
    cwd: Path | None = None,
) -> Measurement:
    """Run ``command`` to completion, sampling the RSS of its process tree every 5 ms."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE, cwd=cwd)
    peak = 0
    ps = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, _tree_rss(ps))
            except psutil.Error:
                return
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        msg = f"{label}: {' '.join(command)} exited {proc.returncode}: {err.decode()[-2000:]}"
        raise RuntimeError(msg)
    return Measurement(label, records, elapsed, peak / 1e6)


def write_result(name: str, payload: Mapping[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with machine facts, and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **payload,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
