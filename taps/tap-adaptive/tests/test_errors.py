"""Bad input and transient faults: one clear line, no secret, retries bounded."""

from __future__ import annotations

import time

from landing_tap_adaptive.xmlapi import MalformedXMLError, parse_document

from emulators.core.faults import FaultRule
from tests.conftest import run_cli, run_tap, tap_config

WRONG_PASSWORD = 'n0t-the-&<"password'


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "tap-adaptive:" in line and "ERROR" in line]


def test_wrong_password_fails_with_authentication_failed_naming_username(adaptive, tmp_path):
    result = run_cli(tap_config(adaptive, password=WRONG_PASSWORD), tmp_path, env={"TAP_ADAPTIVE_LOGLEVEL": "DEBUG"})
    assert result.returncode == 1
    (line,) = _error_lines(result.stderr)
    assert "authentication failed" in line
    assert "`username`" in line
    assert "emulator@example.com" in line
    for secret in (WRONG_PASSWORD, "n0t-the", "&lt;"):  # raw or XML-escaped, the password never shows
        assert secret not in result.stderr
        assert secret not in result.stdout


def test_passwords_are_sent_xml_escaped_and_never_logged(emulator, tmp_path):
    password = 'p&ss<w"rd>'
    server = emulator("adaptive", seed=7, volume=20, password=password)
    config = tap_config(server, password=password, export_data_account_codes=[])
    result = run_cli(config, tmp_path, env={"TAP_ADAPTIVE_LOGLEVEL": "DEBUG"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "p&ss" not in result.stderr
    assert "p&amp;ss" not in result.stderr


def test_xml_throttling_message_is_retried(adaptive):
    adaptive.emulator.throttle_next = 2
    run = run_tap(tap_config(adaptive), select={"export_groups"})
    assert len(run.records["export_groups"]) == len(adaptive.emulator.truth()["exportGroups"])
    assert adaptive.emulator.throttle_next == 0


def test_http_429_honours_retry_after(adaptive):
    adaptive.emulator.faults.replace([FaultRule(kind="status", status=429, retry_after=1, times=1)])
    started = time.monotonic()
    run = run_tap(tap_config(adaptive), select={"export_groups"})
    assert time.monotonic() - started >= 1.0
    assert run.records["export_groups"]


def test_truncated_xml_is_retried_then_loads_everything(adaptive):
    adaptive.emulator.faults.replace([FaultRule(kind="truncate", keep=0.6, times=1)])
    run = run_tap(tap_config(adaptive), select={"export_accounts"})
    assert len(run.records["export_accounts"]) == len(adaptive.emulator.truth()["exportAccounts"])


def test_truncated_export_data_is_retried_before_any_record_is_emitted(adaptive):
    adaptive.emulator.faults.replace([FaultRule(kind="truncate", keep=0.7, times=1, truncate_mode="body")])
    adaptive.emulator.throttle_next = 0
    run = run_tap(tap_config(adaptive), select={"export_versions", "export_data"})
    partitions = run.state["bookmarks"]["export_data"]["partitions"]
    assert all(p.get("exported_at") for p in partitions)
    keys = [
        (r["version_id"], r["account_code"], r["level_code"], r["dimension_key"], r["period"])
        for r in run.records["export_data"]
    ]
    assert len(keys) == len(set(keys))  # the truncated attempt emitted nothing


def test_persistently_malformed_xml_ends_in_one_clear_error(adaptive, tmp_path):
    adaptive.emulator.faults.replace([FaultRule(kind="truncate", keep=0.5, times=None, path="/api/")])
    started = time.monotonic()
    result = run_cli(tap_config(adaptive, max_retries=2), tmp_path)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    (line,) = _error_lines(result.stderr)
    assert "malformed XML" in line
    assert "gave up on" in line
    assert "after 3 attempts" in line
    assert "(max_retries=2)" in line
    assert "/api/v38" in line
    assert "Traceback" not in result.stderr
    assert [entry for entry in result.stderr.splitlines() if "ERROR" in entry] == [line]


def test_doctype_and_entities_are_refused(adaptive):
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><response success="true">&a;</response>'
    try:
        parse_document(bomb)
    except MalformedXMLError:
        pass
    else:
        raise AssertionError("a DOCTYPE with entities must be refused")
