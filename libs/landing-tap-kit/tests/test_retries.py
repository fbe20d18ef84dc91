"""The retry behaviour through the sample tap's command line (real HTTP), and the policy's arithmetic."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from landing_tap_kit.retries import RetryBudget, RetryPolicy, budgeted_waits, retry_after_seconds
from landing_tap_kit.stub_servers import Page, StubServer

ONE_PAGE = Page(json.dumps({"data": [{"id": 1, "name": "one"}], "next": None}).encode())


def _waits(log: str) -> list[float]:
    return [float(w) for w in re.findall(r"Retrying in ([0-9.]+) s", log)]


def _response(status: int, retry_after: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def test_a_429_waits_exactly_the_seconds_retry_after_says_then_continues(sample_tap):
    with StubServer({"/things": [Page(b"{}", 429, {"Retry-After": "0.3"}), ONE_PAGE]}) as server:
        run = sample_tap({"api_url": server.url})
    assert run.returncode == 0, run.log
    assert _waits(run.log) == [0.3]
    assert [r["id"] for r in run.records()] == [1]


def test_a_retry_after_longer_than_the_budget_ends_the_stream_at_once_in_one_line(sample_tap):
    with StubServer({"/things": Page(b"{}", 429, {"Retry-After": "3600"})}) as server:
        run = sample_tap({"api_url": server.url, "max_retry_seconds": 30})
        attempts = len(server.requests)
    assert run.returncode == 1
    assert attempts == 1
    assert _waits(run.log) == []
    (line,) = run.error_lines()
    assert re.search(
        rf"\| tap-sample: error: gave up on {server.url}/things after 1 attempts in [0-9.]+ s without progress "
        rf"\(max_retry_seconds=30; the server asked to wait 3600 s, [0-9.]+ s were left\): "
        rf"HTTP 429 Too Many Requests from {server.url}/things$",
        line,
    ), line


def test_5xx_backs_off_exponentially_with_jitter_until_max_retries(sample_tap):
    with StubServer({"/things": Page(b"{}", 503)}) as server:
        run = sample_tap({"api_url": server.url, "max_retries": 3, "retry_base_seconds": 0.02})
        attempts = len(server.requests)
    assert run.returncode == 1
    assert attempts == 4
    waits = _waits(run.log)
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        step = 0.02 * 2**attempt
        assert step * 0.5 - 0.005 <= wait <= step + 0.005  # %.2f in the log rounds
    assert "(max_retries=3): HTTP 503" in run.error_lines()[-1]


def test_a_429_without_retry_after_waits_rate_limit_default_wait(sample_tap):
    with StubServer({"/things": [Page(b"{}", 429), ONE_PAGE]}) as server:
        run = sample_tap({"api_url": server.url, "rate_limit_default_wait": 0.2})
    assert run.returncode == 0, run.log
    assert _waits(run.log) == [0.2]


def test_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    in_ninety = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(_response(429, "7")) == 7.0
    assert retry_after_seconds(_response(429, in_ninety), now=now) == 90.0
    assert retry_after_seconds(_response(429, format_datetime(now - timedelta(seconds=5), usegmt=True)), now=now) == 0
    assert retry_after_seconds(_response(429, "soon")) is None
    assert retry_after_seconds(_response(429)) is None


def test_a_told_wait_is_never_shortened_or_capped_and_an_exponential_step_is_capped():
    policy = RetryPolicy(base_seconds=2.0, max_exponential_seconds=60.0)
    told = requests.HTTPError(response=_response(429, "400"))
    assert policy.wait(told, attempt=0) == (400.0, True)
    assert policy.wait(told, attempt=10) == (400.0, True)
    untold = requests.HTTPError(response=_response(503))
    capped = [policy.wait(untold, attempt=10)[0] for _ in range(50)]
    assert all(30.0 <= wait <= 60.0 for wait in capped)
    assert len(set(capped)) > 1, "exponential waits carry jitter"


def test_the_budget_counts_time_without_progress_and_a_success_starts_it_afresh():
    budget = RetryBudget(limit_seconds=10)
    policy = RetryPolicy(max_retry_seconds=10)
    told = requests.HTTPError(response=_response(429, "6"))
    waits = budgeted_waits(policy, budget)
    next(waits)
    assert waits.send(told) == 6.0
    with pytest.raises(StopIteration):
        waits.send(told)  # 6 + 6 > 10: not started
    assert budget.exhausted_because == "the server asked to wait 6 s, 4.0 s were left"
    budget.progress()
    fresh = budgeted_waits(policy, budget)
    next(fresh)
    assert fresh.send(told) == 6.0


def test_settings_sent_as_text_are_read_as_numbers():
    policy = RetryPolicy.from_config(
        {"max_retry_seconds": "30.5", "max_retries": "4", "retry_base_seconds": "0.5", "rate_limit_default_wait": "9"}
    )
    assert policy == RetryPolicy(max_retry_seconds=30.5, max_retries=4, base_seconds=0.5, default_429_seconds=9.0)
