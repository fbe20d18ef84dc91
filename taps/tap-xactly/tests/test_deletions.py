"""ACTIVATE_VERSION only after a full-table stream was read completely (issue 10 §4).

Loaders retire every row of older versions the moment the message arrives, so a run that announces
first and then dies mid-read marks the whole live table deleted.
"""

from __future__ import annotations

import json

import pytest

from emulators.xactly import TcpFaultProxy
from tests.test_errors import catalog_of, error_lines, run_cli

SUMMARY = "xc_credit_summary"


def messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def summary_db(xactly_db):
    return xactly_db(seed=9, volume=400, tables=[SUMMARY, "xc_credit_type"])


def test_a_complete_read_activates_the_version_after_the_last_record(tmp_path, summary_db):
    result = run_cli(tmp_path, summary_db.tap_config(), catalog=catalog_of(summary_db, SUMMARY, "xc_credit_type"))
    assert result.returncode == 0, result.stderr[-2000:]
    sent = [m for m in messages(result.stdout) if m.get("stream") == SUMMARY]
    kinds = [m["type"] for m in sent]
    activations = [i for i, kind in enumerate(kinds) if kind == "ACTIVATE_VERSION"]
    records = [i for i, kind in enumerate(kinds) if kind == "RECORD"]
    assert len(records) == len(summary_db.truth(SUMMARY)[SUMMARY])
    assert len(activations) == 1
    assert activations[0] > records[-1]
    (version,) = {sent[i]["version"] for i in records}
    assert sent[activations[0]]["version"] == version
    assert not any(m["type"] == "ACTIVATE_VERSION" and m["stream"] == "xc_credit_type" for m in messages(result.stdout))


def test_a_query_failing_mid_read_sends_no_activate_version(tmp_path, summary_db):
    proxy = TcpFaultProxy(summary_db.server.port)
    try:
        config = summary_db.tap_config(jdbc_url=proxy.jdbc_url(), max_retries=2, retry_initial_seconds=0.05)
        proxy.drop_after(server_bytes=4000, times=1000)
        result = run_cli(tmp_path, config, catalog=catalog_of(summary_db, SUMMARY))
    finally:
        proxy.close()
    assert proxy.dropped >= 1, "the connection must have died in the middle of the result"
    assert result.returncode == 1
    assert f"stream {SUMMARY}" in error_lines(result)[-1]
    assert not [m for m in messages(result.stdout) if m["type"] == "ACTIVATE_VERSION"]


def test_a_skipped_missing_summary_retires_nothing(tmp_path, summary_db):
    catalog = catalog_of(summary_db, SUMMARY, "xc_credit_type")
    summary_db.drop_table(SUMMARY)
    result = run_cli(tmp_path, summary_db.tap_config(skip_missing_tables=True), catalog=catalog)
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(f"{SUMMARY} skipped" in line for line in error_lines(result))
    assert not [m for m in messages(result.stdout) if m["type"] == "ACTIVATE_VERSION"]
