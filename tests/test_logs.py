"""What an operator reads of a `meltano run` (issue 15 §1): a summary line per stream, errors in full, no noise.

The real job, the real plugins and the project's logging switch (meltano.yml `env: SINGER_SDK_LOG_CONFIG`);
only the source is the emulator. Counts come from the warehouse, not from the log.
"""

from __future__ import annotations

import re

import pytest

from tests.harness import PROJECT_ROOT
from utilities.checks.runlog import last_error_line

pytestmark = pytest.mark.e2e
JOB = "zengrc-to-warehouse"
SCHEMA = "TAP_ZENGRC"
METRICS_FILE = PROJECT_ROOT / "output" / "sdk-metrics.log"
#: ``<timestamp> [<level>] tap-zengrc <stream>: <n> records in <s>s...``, as Meltano prints the launcher's line.
SUMMARY = re.compile(r"\] tap-zengrc\s+(?P<stream>\w+): (?P<records>[\d,]+) records in [\d.]+s")


def point_at(server, **extra: str) -> dict[str, str]:
    return {"TAP_ZENGRC_API_URL": f"{server.url}/api/v2", **extra}


def test_a_run_prints_one_summary_line_per_stream_and_keeps_sdk_metrics_in_a_file(meltano, emulator) -> None:
    server = emulator("zengrc", seed=51, volume=30)
    run = meltano.run("run", JOB, env=point_at(server))
    lines = (run.stdout + run.stderr).splitlines()

    summaries = {m["stream"]: int(m["records"].replace(",", "")) for line in lines if (m := SUMMARY.search(line))}
    landed = {
        table: meltano.query(f'select count(*) from "{SCHEMA}"."{table}"')[0][0] for table in server.emulator.truth()
    }
    assert summaries == landed
    assert sum(bool(SUMMARY.search(line)) for line in lines) == len(landed), "one summary line per stream"
    assert not [line for line in lines if "METRIC" in line]
    chatter = [line for line in lines if "Beginning sync" in line or "Loaded " in line or "Created table" in line]
    assert chatter == []
    # Meltano's own dozen lines, the summaries, nothing else.
    assert len(lines) <= len(landed) + 15, "\n".join(lines)
    # The SDK's per-request and per-stream METRIC points are still there, in the metrics file.
    with METRICS_FILE.open("rb") as metrics:
        metrics.seek(max(0, METRICS_FILE.stat().st_size - 2_000_000))
        tail = metrics.read().decode(errors="replace")
    assert f'"metric":"record_count","value":{landed["people"]},"tags":{{"stream":"people"' in tail


def test_a_failed_run_shows_the_taps_one_line_error_and_it_is_the_runs_error_line(meltano, emulator) -> None:
    server = emulator("zengrc", seed=53, volume=5, only="people")
    run = meltano.run("run", JOB, env=point_at(server, TAP_ZENGRC_PASSWORD="wrong-secret"), check=False)
    output = run.stdout + run.stderr

    assert run.returncode != 0
    error = last_error_line(output.splitlines())
    assert error is not None
    assert error.startswith("tap-zengrc: ")
    assert "HTTP 401" in error
    assert "wrong-secret" not in output
