"""Every bad input of issue 6: one clear ERROR line, non-zero exit, no secret; rate limits waited out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from landing_tap_zendesk import settings
from zendesk_support import API_TOKEN, by_key, run_tap, tap_config

from emulators.core import FaultRule


def _one_error(run) -> str:
    assert run.returncode != 0
    errors = run.lines("ERROR")
    assert len(errors) == 1, run.log[-3000:]
    assert "Traceback" not in run.log
    return errors[0]


def _waits(run) -> list[float]:
    """The waits the tap announced before each retry, in seconds."""
    return [float(wait) for wait in re.findall(r"Retrying in ([0-9.]+) ?s", run.log)]


def test_missing_api_token_and_access_token_is_a_config_error_naming_both(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    run = run_tap(tmp_path, tap_config(server.url, api_token=None))
    line = _one_error(run)
    assert "api_token" in line
    assert "access_token" in line
    assert not server.emulator.requests  # nothing was sent


def test_wrong_token_is_one_401_line_without_the_token(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    wrong = "not-the-token-s3cr3t"
    run = run_tap(tmp_path, tap_config(server.url, api_token=wrong), select={"groups"})
    line = _one_error(run)
    assert "401" in line
    assert "/api/v2/groups.json" in line
    assert wrong not in run.log
    assert wrong not in run.stdout


def test_secrets_never_reach_the_log(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=5)
    run = run_tap(tmp_path, tap_config(server.url))
    assert run.returncode == 0
    assert API_TOKEN not in run.log
    assert API_TOKEN not in run.stdout


def test_subdomain_pasted_as_a_zendesk_url_is_accepted(emulator, tmp_path):
    assert settings.api_url({"subdomain": "https://Acme.zendesk.com/agent/dashboard"}) == (
        "https://acme.zendesk.com/api/v2"
    )
    assert settings.api_url({"subdomain": "acme.zendesk.com"}) == "https://acme.zendesk.com/api/v2"
    server = emulator("zendesk", seed=1, volume=3)
    run = run_tap(tmp_path, tap_config(server.url, subdomain="https://acme.zendesk.com/"), select={"tags"})
    assert run.returncode == 0, run.log[-2000:]


def test_subdomain_pasted_as_another_url_is_rejected_with_a_hint_not_a_dns_error(tmp_path):
    config = tap_config("http://unused.invalid", api_url=None, subdomain="https://support.example.org/hc")
    run = run_tap(tmp_path, config)
    line = _one_error(run)
    assert "subdomain" in line
    assert "api_url" in line  # the hint: where a non-zendesk.com host goes
    assert "Name or service" not in run.log
    assert "resolve" not in run.log.lower()


def test_start_date_in_the_future_is_a_clear_error(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = run_tap(tmp_path, tap_config(server.url, start_date=future))
    line = _one_error(run)
    assert "start_date" in line
    assert "future" in line
    assert not server.emulator.requests


def test_malformed_start_date_is_a_clear_error(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    run = run_tap(tmp_path, tap_config(server.url, start_date="last tuesday"))
    line = _one_error(run)
    assert "start_date" in line
    assert not server.emulator.requests


def test_page_size_above_the_api_maximum_is_a_clear_error(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    run = run_tap(tmp_path, tap_config(server.url, page_size=500))
    line = _one_error(run)
    assert "page_size" in line or "500" in line


def test_429_without_retry_after_waits_the_default_and_finishes(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=12)
    server.emulator.faults.replace(
        [FaultRule.from_dict({"kind": "status", "status": 429, "path": "/groups", "times": 2})]
    )
    run = run_tap(tmp_path, tap_config(server.url, rate_limit_default_wait=0.3), select={"groups"})
    assert run.returncode == 0, run.log[-2000:]
    assert len(run.records("groups")) == len(server.emulator.truth("groups")["groups"])
    assert _waits(run) == [0.3, 0.3]


def test_429_retry_after_is_waited_exactly(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=12)
    rule = {"kind": "status", "status": 429, "retry_after": 1, "path": "/incremental/", "times": 1}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets"})
    assert run.returncode == 0, run.log[-2000:]
    assert _waits(run) == [1.0]
    assert len(run.records("tickets")) == 12


def test_per_minute_export_limit_is_waited_out_not_hammered(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=20, export_page_max=4, export_rate_limit=2, rate_window=1)
    # a budget smaller than all waits together: each 429 wait counts only until its page arrives
    run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=2.5), select={"tickets"})
    assert run.returncode == 0, run.log[-2000:]
    assert by_key(run.records("tickets")).keys() == {t["id"] for t in server.emulator.truth("tickets")["tickets"]}
    waits = _waits(run)
    assert waits
    assert all(w == 1.0 for w in waits)  # Retry-After: 1, never a shorter guess
    pages = len([r for r in server.emulator.requests if "/incremental/" in r["path"]])
    assert pages == 5 + len(waits)  # each 429 retried exactly once


def test_a_429_before_every_export_page_is_waited_out_because_each_page_resets_the_budget(emulator, tmp_path):
    """Three export pages, each first answered 429 Retry-After 1: 3 s of waits, a 2.5 s budget without progress.

    The production case: a first backfill under the 10 requests/minute export limit. A budget counted
    over the whole stream gives up before page 3 (this failed before the change).
    """
    server = emulator("zendesk", seed=2, volume=12, export_page_max=4)
    # Rule k sees every export request the rules before it let through, so skip=k-1 makes it fire on
    # the first request for page k+1: requests 1, 3, 5 answer 429, their retries 2, 4, 6 succeed.
    rules = [
        {"kind": "status", "status": 429, "retry_after": 1, "path": "/incremental/", "times": 1, "skip": k}
        for k in range(3)
    ]
    server.emulator.faults.replace([FaultRule.from_dict(rule) for rule in rules])
    run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=2.5), select={"tickets"})
    assert run.returncode == 0, run.log[-2000:]
    assert by_key(run.records("tickets")).keys() == {t["id"] for t in server.emulator.truth("tickets")["tickets"]}
    assert [rule.fired for rule in server.emulator.faults.rules] == [1, 1, 1]
    assert _waits(run) == [1.0, 1.0, 1.0]


def test_server_errors_past_the_retry_budget_fail_in_one_line(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=5)
    server.emulator.faults.replace([FaultRule.from_dict({"kind": "status", "status": 503, "times": None})])
    run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=1), select={"groups"})
    line = _one_error(run)
    assert "503" in line
    assert "/api/v2/groups.json" in line


def test_too_recent_start_time_is_reported_as_zendesk_says(emulator, tmp_path):
    # an account whose clock is behind this machine's: our start_time is "too recent" for it
    server = emulator("zendesk", seed=2, volume=5, now="2024-06-01T00:00:00Z")
    recent = server.emulator.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    run = run_tap(tmp_path, tap_config(server.url, start_date=recent), select={"tickets"})
    line = _one_error(run)
    assert "400" in line
    assert "start_time" in line
