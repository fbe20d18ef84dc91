"""Nothing a server does can hang a run: wall-clock request limit, retry budget, Retry-After as a floor."""

from __future__ import annotations

import logging
import socket
import threading
import time

from emulators.core.faults import FaultRule
from tests.conftest import run_tap, tap_config


class TricklingServer:
    """Answers every request with headers at once, then one body byte every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2, length: int = 10_000) -> None:
        self.interval = interval
        self.length = length
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TricklingServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.listener.close()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = f"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {self.length}\r\n\r\n"
                try:
                    conn.sendall(head.encode())
                    while not self.stopped.is_set() and self.sent < self.length:
                        conn.sendall(b" ")
                        self.sent += 1
                        time.sleep(self.interval)
                except OSError:
                    continue  # the client hung up: what the deadline is for


def test_a_trickling_server_fails_the_request_at_the_wall_clock_limit():
    with TricklingServer() as server:
        config = {
            "api_url": f"http://127.0.0.1:{server.port}/api/v38",
            "username": "u",
            "password": "p",
            "request_timeout": 1,
            "max_retries": 0,
        }
        run = run_tap(config, select={"export_groups"}, expect_error=True)
        message = str(run.error)
        assert "request_timeout=1" in message
        assert "gave up on" in message
        assert f"127.0.0.1:{server.port}" in message
        assert server.sent < server.length  # the body never completed: the limit, not the server, ended it


def test_retry_after_is_never_shortened_by_the_backoff_cap(adaptive, caplog):
    caplog.set_level(logging.WARNING)
    adaptive.emulator.faults.replace([FaultRule(kind="status", status=429, retry_after=1, times=1)])
    run = run_tap(tap_config(adaptive, max_retry_wait_seconds=0.1), select={"export_groups"})
    assert run.records["export_groups"]
    waits = [r.getMessage() for r in caplog.records if "Retrying in" in r.getMessage()]
    assert waits == [waits[0]]
    assert "Retrying in 1.00 s" in waits[0]  # the server's 1 s, not the 0.1 s cap


def test_a_retry_after_beyond_the_budget_gives_up_at_once_in_one_line(adaptive):
    adaptive.emulator.faults.replace([FaultRule(kind="status", status=429, retry_after=3600, times=None)])
    run = run_tap(tap_config(adaptive, max_retry_seconds=30), select={"export_groups"}, expect_error=True)
    message = str(run.error)
    expected = f"gave up on {adaptive.url}/api/v38 after 1 attempts in 0.0 s without progress (max_retry_seconds=30;"
    assert message.startswith(expected)
    assert "the server asked to wait 3600 s" in message
    assert len(adaptive.emulator.requests) == 1


def test_the_retry_budget_ends_a_stream_that_keeps_failing(adaptive):
    adaptive.emulator.faults.replace([FaultRule(kind="status", status=503, times=None)])
    config = tap_config(adaptive, max_retries=100, retry_base_seconds=0.1, max_retry_seconds=0.5)
    run = run_tap(config, select={"export_groups"}, expect_error=True)
    message = str(run.error)
    assert "(max_retry_seconds=0.5;" in message
    assert "HTTP 503" in message
    attempts = len(adaptive.emulator.requests)
    assert 2 <= attempts < 10  # waits 0.1, 0.2, then 0.4 no longer fits: far below max_retries
    assert f"after {attempts} attempts" in message


def test_a_429_before_every_request_is_waited_out_because_each_good_response_resets_the_budget(adaptive):
    """exportSheets, then exportSheetDefinition per modeled sheet (two): each call first answers 429 Retry-After 1.

    export_sheet_definition waits 1 s before each of its calls, 2 s in all, with a 1.9 s budget without
    progress: a budget counted over the whole stream gives up at its second call (this failed before the
    change). Rule k sees every request the rules before it let through, so skip=k makes it fire on the
    first attempt of call k+1 (requests 1, 3, 5); the retries pass.
    """
    rules = [FaultRule(kind="status", status=429, retry_after=1, times=1, skip=k) for k in range(3)]
    adaptive.emulator.faults.replace(rules)
    run = run_tap(tap_config(adaptive, max_retry_seconds=1.9), select={"export_sheets", "export_sheet_definition"})
    modeled = {r["id"] for r in run.records["export_sheets"] if str(r["type"]).lower() == "modeled"}
    assert len(modeled) == 2
    assert {r["sheet_id"] for r in run.records["export_sheet_definition"]} == modeled
    assert [rule.fired for rule in adaptive.emulator.faults.rules] == [1, 1, 1]
