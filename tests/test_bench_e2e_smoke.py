"""The end-to-end benchmark at tiny volume: the real job lands the emulator's ground truth, and every part is measured.

Speed is not asserted (benchmarks compare ratios on a quiet box, bench/results/e2e.json); this proves
the benchmark itself still works on a fresh clone: it starts the emulator, runs ``meltano run`` and
the bare tap, finds each process of the pipeline, and its truth check passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_e2e import SMOKE_VOLUME, main

pytestmark = pytest.mark.e2e


def test_smoke_run_lands_the_ground_truth_and_measures_every_process(tmp_path: Path) -> None:
    output = tmp_path / "e2e.json"

    assert main(["--smoke", "--source", "zengrc", "--output", str(output)]) == 0

    result = json.loads(output.read_text())["sources"]["zengrc"]
    assert result["emulator_volume"] == SMOKE_VOLUME
    assert result["warehouse_matches_truth"] is True
    checked = result["truth_check"]["checked"]
    assert checked, "no emulator collection was compared with a landed table"
    assert all(entry["keys_equal"] and entry["landed_rows"] == SMOKE_VOLUME for entry in checked.values())
    assert result["records"] == sum(entry["landed_rows"] for entry in checked.values())
    assert {"meltano", "launcher", "tap", "loader", "emulator"} <= set(result["peak_rss_mb"])
    assert result["job_records_per_second"] > 0
    assert result["tap_alone_records_per_second"] > 0
