"""A stop signal ends the run as stopped (exit 128 + signal) with a final STATE written between messages.

The sample tap runs in its own process against a stub server; the signal lands while the tap waits on a slow
page, and while it is blocked writing a RECORD to a reader that paused (a loader busy committing). The SDK's
own handler wrote the state from inside that write: the run died with ``reentrant call`` or ``BufferError``,
no final state, exit 0 or 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from landing_tap_kit.stub_servers import Page, StubServer

from tests.conftest import KIT, SAMPLE_TAP, clean_environment

PAGE_ROWS = 400
PAGES = 30


def _pages(slow_page: int | None = None) -> dict[str, Page]:
    """PAGES pages of PAGE_ROWS records, each record ~200 bytes as JSON; ``slow_page`` trickles for minutes."""
    pages = {}
    for number in range(PAGES):
        rows = [{"id": number * PAGE_ROWS + i, "name": "x" * 150} for i in range(PAGE_ROWS)]
        following = f"/things?page={number + 1}" if number + 1 < PAGES else None
        body = json.dumps({"data": rows, "next": following}).encode()
        key = "/things" if number == 0 else f"/things?page={number}"
        pages[key] = Page(body, trickle=0.01 if number == slow_page else 0.0)
    return pages


def _stopped_run(tmp_path: Path, server: StubServer, stop_after_lines: int, pause: float) -> tuple[int, list[str], str]:
    """Run the tap, read ``stop_after_lines`` lines, pause (the pipe fills), SIGTERM, read the rest."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": server.url}))
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr, subprocess.Popen(
        [*SAMPLE_TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=stderr, cwd=KIT,
        env=clean_environment(),
    ) as process:  # fmt: skip
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(stop_after_lines)]
        time.sleep(pause)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        lines += process.stdout.readlines()
        process.wait(timeout=60)
        stopped_within = time.monotonic() - started
    assert stopped_within < 20, "the stop waited for the slow page"
    return process.returncode, [line.decode() for line in lines if line], log.read_text()


@pytest.mark.parametrize(("stop_after_lines", "pause"), [(50, 0.0), (800, 0.3), (2000, 0.05), (5000, 0.5)])
def test_a_stop_lands_between_messages_and_ends_the_run_as_stopped(tmp_path, stop_after_lines, pause):
    with StubServer(_pages()) as server:
        returncode, lines, log = _stopped_run(tmp_path, server, stop_after_lines, pause)
    messages: list[dict[str, Any]] = [json.loads(line) for line in lines]  # no half-written or garbled line
    assert returncode == 128 + signal.SIGTERM
    assert messages[-1]["type"] == "STATE", "the run ended without its final state"
    assert "tap-sample stopped by SIGTERM" in log
    assert sum(m["type"] == "RECORD" for m in messages) < PAGES * PAGE_ROWS, "the tap was still reading"


def test_a_stop_while_waiting_on_a_slow_page_acts_at_once(tmp_path):
    """Page 3 trickles for minutes; the signal lands while the tap waits on it, and the run stops within seconds."""
    with StubServer(_pages(slow_page=3)) as server:
        returncode, lines, log = _stopped_run(tmp_path, server, 3 * PAGE_ROWS, 1.0)
    messages = [json.loads(line) for line in lines]
    assert returncode == 128 + signal.SIGTERM
    assert messages[-1]["type"] == "STATE"
    assert sum(m["type"] == "RECORD" for m in messages) == 3 * PAGE_ROWS
    assert "tap-sample stopped by SIGTERM" in log
