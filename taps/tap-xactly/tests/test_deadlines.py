"""Nothing hangs (issue 10 §5): connect deadline, SIGTERM/SIGINT while the driver waits, retry budget.

The silent server is a TCP listener that accepts and never answers: what a stuck load balancer or a
half-dead Xactly pod looks like to a JDBC driver. Today's failure mode it reproduces: the driver waits
forever inside native code, where Python runs no signal handler, so only SIGKILL stopped the tap.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.xactly import TcpFaultProxy
from tests.conftest import sync
from tests.test_errors import TAP, catalog_of, error_lines, run_cli


class SilentServer:
    """Accepts TCP connections and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)
            self.accepted.set()

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def silent_config(emu, server: SilentServer, **overrides) -> dict:
    return emu.tap_config(jdbc_url=f"jdbc:h2:tcp://127.0.0.1:{server.port}/xactly", **overrides)


def test_a_server_that_never_answers_fails_discovery_in_one_line(tmp_path, emu, silent):
    result = run_cli(tmp_path, silent_config(emu, silent, connect_timeout_seconds=2), "--discover")
    assert silent.accepted.is_set()
    assert result.returncode == 1
    (line,) = error_lines(result)
    assert line.endswith(f"127.0.0.1:{silent.port}/xactly: no answer within 2 s (connect_timeout_seconds=2)")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_tap_waiting_on_the_driver(tmp_path: Path, emu, silent, signum, code):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(silent_config(emu, silent)))  # default connect timeout: 60 s
    process = subprocess.Popen(
        [TAP, "--config", str(config_path), "--discover"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert silent.accepted.wait(120), "the tap never connected"
        process.send_signal(signum)
        # Generous bound for a loaded box: before the fix the process never ended on its own.
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code
    assert [line.split("| ")[-1] for line in stderr.splitlines() if "| ERROR" in line] == [
        f"tap-xactly stopped by {signum.name}"
    ]


def test_max_retry_seconds_bounds_the_retries_of_a_stream(tmp_path, emu):
    proxy = TcpFaultProxy(emu.server.port)
    try:
        config = emu.tap_config(
            jdbc_url=proxy.jdbc_url(), max_retries=1000, max_retry_seconds=3, retry_initial_seconds=0.2
        )
        proxy.drop_after(server_bytes=0, times=10_000)
        result = run_cli(tmp_path, config, catalog=catalog_of(emu, "xc_credit"))
    finally:
        proxy.close()
    assert result.returncode == 1
    line = error_lines(result)[-1]
    assert "stream xc_credit: gave up after " in line
    assert "(max_retries=1000, max_retry_seconds=3)" in line
    attempts = int(line.split("gave up after ")[1].split()[0])
    assert attempts == proxy.connections < 100, "the time budget, not the 1000 tries, must have ended it"


def test_a_failure_in_every_slice_is_retried_because_each_slice_read_resets_the_budget(xactly_db):
    """Slices 2, 3 and 4 of xc_credit each fail once (their connection dies mid-slice) and wait 1 s.

    3 s of waits in all, a 1.9 s budget without progress: each slice spends about 1 s, so the read
    completes; a budget counted over the whole stream would be spent by slice 4 and give up there.
    H2 sends the first 100 rows of a result with its answer to the query, then 100 per fetch: measured on
    this seed ~1 kB handshake, ~135 kB for the first 100 xc_credit rows, ~128 kB per further 100. A
    connection cut after 200 kB from the server carries one slice whole and dies fetching the next; the
    last one carries slice 4 and the empty end of the result.
    """
    emu = xactly_db(seed=7, volume=400, tables=["xc_credit"])
    proxy = TcpFaultProxy(emu.server.port)
    try:
        config = emu.tap_config(
            jdbc_url=proxy.jdbc_url(), page_size=100, max_retries=3, max_retry_seconds=1.9, retry_initial_seconds=1
        )
        proxy.drop_after(server_bytes=200_000, times=100)
        result = sync(config, catalog=catalog_of(emu, "xc_credit"))
    finally:
        proxy.close()
    ids = [r["CREDIT_ID"] for r in result.records["xc_credit"]]
    assert sorted(ids) == sorted(r["CREDIT_ID"] for r in emu.truth("xc_credit")["xc_credit"])
    assert len(ids) == len(set(ids)) == 400
    assert proxy.dropped == 3
    assert proxy.connections == 4
