"""Nothing a server does can hang a run: wall-clock request limit, stream retry budget, pagination cycles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import requests
from landing_tap_kit.stub_servers import Page, StubServer
from landing_tap_zengrc.tap import TapZenGRC

from tests.support import catalog_selecting, tap_config


def _page(records: list[dict], next_href: str | None) -> bytes:
    return json.dumps({"data": records, "links": {"next": {"href": next_href} if next_href else None}}).encode()


def test_a_trickled_page_fails_at_the_wall_clock_limit_and_is_retried(tap, tmp_path):
    """One byte every 0.2 s never trips a per-read timeout; the whole request must still end after 1 s."""
    body = _page([{"id": 1, "title": "slow"}], None)
    with StubServer({"/api/v2/controls": Page(body, trickle=0.2)}) as server:
        config = tap_config(server.url, request_timeout=1, max_retries=1, retry_base_seconds=0.01)
        run = tap(config, "--catalog", catalog_selecting(tmp_path, "controls"))
        attempts = len(server.requests)
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "tap-zengrc: error: gave up on" in final
    assert "/api/v2/controls after 2 attempts" in final
    assert "(max_retries=1)" in final
    assert "no complete answer within request_timeout=1 s" in final
    assert attempts == 2
    assert not run.records("controls")


def test_the_retry_budget_ends_a_stream_that_keeps_failing_in_one_line(emulator, tap, tmp_path):
    rule = {"kind": "status", "status": 503, "path": "/issues$", "times": None}
    server = emulator("zengrc", seed=2, volume=3, only="issues", faults=[rule])
    config = tap_config(server.url, max_retries=1000, retry_base_seconds=0.2, max_retry_seconds=1)
    run = tap(config, "--catalog", catalog_selecting(tmp_path, "issues"))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "tap-zengrc: error: gave up on http://127.0.0.1:" in final
    assert "/api/v2/issues after" in final
    assert "(max_retry_seconds=1" in final
    assert final.endswith("/api/v2/issues")  # the last cause, as worded for the operator
    assert "HTTP 503" in final
    assert sum("tap-zengrc: error:" in line for line in run.error_lines()) == 1
    assert "Traceback" not in run.log


def test_a_429_before_every_page_is_waited_out_because_each_page_resets_the_budget(emulator, tap, tmp_path):
    """Three pages, each first answered 429 Retry-After 1: 3 s of waits in all, a 2.5 s budget without progress.

    A budget counted over the whole stream would give up before page 3 (this failed before the change).
    """
    pages = ("^page_size=1$", "^page=2&", "^page=3&")
    rules = [
        {"kind": "status", "status": 429, "retry_after": 1, "path": "/issues$", "query": page, "times": 1}
        for page in pages
    ]
    server = emulator("zengrc", seed=2, volume=3, only="issues", faults=rules)
    config = tap_config(server.url, page_size=1, max_retries=3, max_retry_seconds=2.5)
    run = tap(config, "--catalog", catalog_selecting(tmp_path, "issues"))
    assert run.returncode == 0, run.error_lines()
    assert len(run.records("issues")) == 3
    assert len({r["id"] for r in run.records("issues")}) == 3
    assert [rule.fired for rule in server.emulator.faults.rules] == [1, 1, 1]
    assert run.of_type("ACTIVATE_VERSION")


def test_a_retry_after_longer_than_the_budget_gives_up_at_once(emulator, tap, tmp_path):
    rule = {"kind": "status", "status": 429, "retry_after": 3600, "path": "/risks$", "times": None}
    server = emulator("zengrc", seed=2, volume=3, only="risks", faults=[rule])
    run = tap(tap_config(server.url, max_retry_seconds=30), "--catalog", catalog_selecting(tmp_path, "risks"))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "after 1 attempts" in final
    assert "the server asked to wait 3600 s" in final
    assert "Retrying in" not in run.log
    assert len([r for r in server.emulator.requests if r["path"] == "/api/v2/risks"]) == 1


def _stream(config: dict, name: str):
    return TapZenGRC(config=config, validate_config=True).streams[name]


def _error_with_retry_after(value: str) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = value
    return requests.HTTPError(response=response)


def test_retry_after_is_never_shortened_even_beyond_five_minutes():
    waits = _stream(tap_config("http://unused", max_retry_seconds=1000), "issues").backoff_wait_generator()
    next(waits)
    assert waits.send(_error_with_retry_after("400")) == 400.0


def test_retry_after_as_an_http_date_is_honoured():
    waits = _stream(tap_config("http://unused"), "issues").backoff_wait_generator()
    next(waits)
    in_two_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    assert 100 < waits.send(_error_with_retry_after(in_two_minutes)) <= 120


def test_a_two_page_pagination_cycle_fails_the_stream_naming_it(tap, tmp_path):
    pages = {
        "/api/v2/audits": Page(_page([{"id": 1}], "/api/v2/audits?page=2")),
        "/api/v2/audits?page=2": Page(_page([{"id": 2}], "/api/v2/audits?page=1")),
        "/api/v2/audits?page=1": Page(_page([{"id": 1}], "/api/v2/audits?page=2")),
    }
    with StubServer(pages) as server:
        run = tap(tap_config(server.url), "--catalog", catalog_selecting(tmp_path, "audits"))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "stream audits: pagination cycle: links.next points back to /api/v2/audits?page=2" in final
    assert [r["id"] for r in run.records("audits")] == [1, 2, 1]
    assert not run.of_type("ACTIVATE_VERSION")


def test_a_next_link_back_to_the_first_page_is_a_cycle_too(tap, tmp_path):
    pages = {
        "/api/v2/audits": Page(_page([{"id": 1}], "/api/v2/audits?page=2")),
        "/api/v2/audits?page=2": Page(_page([{"id": 2}], "/api/v2/audits")),
    }
    with StubServer(pages) as server:
        run = tap(tap_config(server.url), "--catalog", catalog_selecting(tmp_path, "audits"))
    assert run.returncode == 1
    assert "links.next points back to /api/v2/audits," in run.error_lines()[-1]
    assert [r["id"] for r in run.records("audits")] == [1, 2]


def test_an_empty_page_that_links_onwards_is_followed_to_the_end(tap, tmp_path):
    pages = {
        "/api/v2/audits": Page(_page([{"id": 1}], "/api/v2/audits?page=2")),
        "/api/v2/audits?page=2": Page(_page([], "/api/v2/audits?page=3")),
        "/api/v2/audits?page=3": Page(_page([{"id": 3}], None)),
    }
    with StubServer(pages) as server:
        run = tap(tap_config(server.url), "--catalog", catalog_selecting(tmp_path, "audits"))
    assert run.returncode == 0, run.log
    assert [r["id"] for r in run.records("audits")] == [1, 3]
