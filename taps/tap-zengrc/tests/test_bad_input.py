"""Every bad input ends in one clear line, a non-zero exit, and never a secret in the output."""

from __future__ import annotations

import re

from landing_tap_zengrc.client import resolve_api_url

from tests.support import KEY_SECRET, tap_config


def test_wrong_credentials_fail_once_with_a_line_naming_the_settings(emulator, tap):
    server = emulator("zengrc", seed=1, volume=3)
    run = tap(tap_config(server.url, password="not-the-secret"))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "HTTP 401" in final
    assert "`username`" in final
    assert "`password`" in final
    assert len(server.emulator.requests) == 1, "a 401 must not be retried"


def test_missing_username_fails_config_validation_before_any_request(emulator, tap):
    server = emulator("zengrc", seed=1, volume=3)
    config = tap_config(server.url)
    del config["username"]
    run = tap(config)
    assert run.returncode == 1
    assert any("username" in line for line in run.error_lines())
    assert not server.emulator.requests


def test_unreachable_api_url_retries_a_bounded_number_of_times_then_names_the_url(tap):
    run = tap(tap_config("http://127.0.0.1:9", max_retries=2))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "cannot reach ZenGRC at http://127.0.0.1:9/api/v2/" in final
    assert "`api_url`" in final
    assert run.log.count("Retrying in") == 2


def test_429_waits_as_long_as_retry_after_says_then_continues(emulator, tap):
    rule = {"kind": "status", "status": 429, "retry_after": 0.5, "path": "/issues$", "times": 1}
    server = emulator("zengrc", seed=2, volume=6, only="issues", faults=[rule])
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    assert "Retrying in 0.50 s (attempt 1 failed)" in run.log
    assert len(run.records("issues")) == 6


def test_a_5xx_burst_is_retried_and_the_sync_completes(emulator, tap):
    rules = [{"kind": "status", "status": status, "path": "/controls$", "times": 1} for status in (500, 502, 503)]
    server = emulator("zengrc", seed=2, volume=8, only="controls", faults=rules)
    run = tap(tap_config(server.url, page_size=3))
    assert run.returncode == 0, run.log
    assert len(run.records("controls")) == 8


def test_persistent_5xx_fails_with_the_url_in_the_message(emulator, tap):
    rule = {"kind": "status", "status": 503, "path": "/audits$", "times": None}
    server = emulator("zengrc", seed=2, volume=3, faults=[rule])
    run = tap(tap_config(server.url, max_retries=2))
    assert run.returncode == 1
    assert re.search(r"HTTP 503 .* from http://127\.0\.0\.1:\d+/api/v2/audits", run.error_lines()[-1])


def test_a_truncated_page_is_retried_and_the_sync_completes(emulator, tap):
    rule = {"kind": "truncate", "path": "/objectives$", "query": "page=2", "times": 1}
    server = emulator("zengrc", seed=2, volume=10, only="objectives", faults=[rule])
    run = tap(tap_config(server.url, page_size=4))
    assert run.returncode == 0, run.log
    assert sorted(r["id"] for r in run.records("objectives")) == list(range(1, 11))


def test_persistently_truncated_json_fails_clearly_after_the_last_good_page(emulator, tap):
    rule = {"kind": "truncate", "path": "/issues$", "query": "page=2", "times": None}
    server = emulator("zengrc", seed=2, volume=10, only="issues", faults=[rule])
    run = tap(tap_config(server.url, page_size=4, max_retries=1))
    assert run.returncode == 1
    assert "malformed or truncated JSON from" in run.error_lines()[-1]
    assert "/api/v2/issues?page=2" in run.error_lines()[-1]
    # Everything before the broken page was emitted, nothing after it.
    assert [r["id"] for r in run.records("issues")] == [1, 2, 3, 4]


def test_invalid_utf8_in_a_text_field_is_replaced_and_the_sync_completes(emulator, tap):
    rule = {"kind": "invalid_utf8", "path": "/risks$", "text_field": "title", "times": 1}
    server = emulator("zengrc", seed=2, volume=5, only="risks", faults=[rule])
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    first = run.records("risks")[0]
    truth = server.emulator.truth("risks")["risks"][0]
    assert first["title"].startswith("\ufffd")
    assert first["title"].endswith(truth["title"])
    assert len(run.records("risks")) == 5


def test_the_password_never_appears_in_any_output(emulator, tap):
    failing = [
        {"kind": "status", "status": 503, "path": "/assessments$", "times": 1},
        {"kind": "truncate", "path": "/audits$", "times": 1},
        {"kind": "drop", "path": "/controls$", "times": 1},
    ]
    server = emulator("zengrc", seed=2, volume=3, faults=failing)
    runs = [
        tap(tap_config(server.url)),
        tap(tap_config(server.url, password=KEY_SECRET + "-wrong")),
        tap(tap_config("http://127.0.0.1:9", max_retries=1)),
        tap(tap_config(server.url), "--discover"),
        tap(tap_config(server.url), "--about"),
    ]
    for run in runs:
        assert KEY_SECRET not in run.log
        assert KEY_SECRET not in run.stdout


def test_no_api_url_base_url_or_tenant_is_a_config_error_naming_them(emulator, tap):
    config = tap_config("http://unused")
    del config["api_url"]
    run = tap(config)
    assert run.returncode == 1
    assert any("`api_url`" in line and "`tenant`" in line for line in run.error_lines())


def test_tenant_builds_the_vendor_url():
    config = tap_config("http://unused")
    del config["api_url"]
    config["tenant"] = "acme"
    assert resolve_api_url(config) == "https://acme.api.zengrc.com/api/v2"


def test_an_api_url_that_is_not_http_is_rejected_naming_the_setting(tap):
    run = tap(tap_config("ftp://example.com"))
    assert run.returncode == 1
    assert any("`api_url` must be an http(s) URL" in line for line in run.error_lines())
