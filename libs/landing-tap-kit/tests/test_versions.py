"""ACTIVATE_VERSION follows the last record of a complete read, and a read that dies announces nothing."""

from __future__ import annotations

import json

from landing_tap_kit.stub_servers import Page, StubServer

FIRST = Page(json.dumps({"data": [{"id": 1}, {"id": 2}], "next": "/things?page=2"}).encode())
LAST = Page(json.dumps({"data": [{"id": 3}], "next": None}).encode())


def test_the_version_is_announced_once_after_the_last_record(sample_tap):
    with StubServer({"/things": FIRST, "/things?page=2": LAST}) as server:
        run = sample_tap({"api_url": server.url})
    assert run.returncode == 0, run.log
    kinds = [m["type"] for m in run.messages if m["type"] in {"RECORD", "ACTIVATE_VERSION"}]
    assert kinds == ["RECORD", "RECORD", "RECORD", "ACTIVATE_VERSION"]
    (announced,) = [m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert {m["version"] for m in run.messages if m["type"] == "RECORD"} == {announced}


def test_a_read_that_dies_mid_stream_announces_no_version(sample_tap):
    with StubServer({"/things": FIRST, "/things?page=2": Page(b"{}", 503)}) as server:
        run = sample_tap({"api_url": server.url, "max_retries": 1, "retry_base_seconds": 0.01})
    assert run.returncode == 1
    assert [r["id"] for r in run.records()] == [1, 2]
    assert "ACTIVATE_VERSION" not in [m["type"] for m in run.messages]


def test_the_setting_turns_announcements_off(sample_tap):
    with StubServer({"/things": LAST}) as server:
        run = sample_tap({"api_url": server.url, "emit_activate_version_messages": False})
    assert run.returncode == 0, run.log
    assert len(run.records()) == 1
    assert "ACTIVATE_VERSION" not in [m["type"] for m in run.messages]
