"""One stop behaviour for every tap (landing_tap_kit.stopping): SIGTERM mid-run ends it as stopped, state last.

Each tap runs as operators run it (its console script) against its emulator; the reader pauses so the pipe
fills and the tap is blocked writing a RECORD when the signal lands, as behind a loader that is committing.
Expected: exit 143 (a scheduler sees a failed run, not the SDK's 0), every line a whole JSON message, the last
one a STATE, and the tap's one line ``<tap> stopped by SIGTERM``. tap-xactly's own tests cover the same
through JDBC (taps/tap-xactly/tests/test_one_scan.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_retry_behaviour import HTTP_TAPS, HttpTap

#: Enough output to fill a pipe several times over, per tap.
VOLUMES = {
    "tap-zengrc": {"seed": 31, "volume": 3000, "only": "controls"},
    "tap-zendesk": {"seed": 31, "volume": 400},
    "tap-adaptive": {"seed": 31, "volume": 400},
}


@pytest.mark.parametrize("tap", HTTP_TAPS, ids=[tap.name for tap in HTTP_TAPS])
def test_sigterm_while_the_loader_is_busy_ends_the_run_as_stopped_with_its_state_last(
    tap: HttpTap, emulator, tmp_path: Path
) -> None:
    server = emulator(tap.emulator, **VOLUMES[tap.name])
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap.config(server.url)))
    log = tmp_path / "stderr.log"
    with (
        log.open("w") as stderr,
        subprocess.Popen([tap.command, "--config", str(config)], stdout=subprocess.PIPE, stderr=stderr) as process,
    ):
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(100)]
        time.sleep(0.5)  # the pipe fills: the tap blocks inside a write
        process.send_signal(signal.SIGTERM)
        lines += process.stdout.readlines()
        process.wait(timeout=60)
    messages = [json.loads(line) for line in lines if line]  # no half-written or garbled line
    assert process.returncode == 128 + signal.SIGTERM, log.read_text()[-2000:]
    assert messages[-1]["type"] == "STATE", "the run ended without its final state"
    assert f"{tap.name} stopped by SIGTERM" in log.read_text()
    full = subprocess.run([tap.command, "--config", str(config)], capture_output=True, check=True, timeout=300)
    assert len(messages) < len(full.stdout.splitlines()), "the tap had finished before the signal"
