"""Bad input and faults: one clear line, non-zero exit, no secret; transient drops are retried."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from landing_tap_xactly.tap import TapXactly

from emulators.xactly import TcpFaultProxy
from tests.conftest import sync

TAP = str(Path(sys.executable).with_name("landing-tap-xactly"))


def run_cli(tmp_path: Path, config: dict, *args: str, catalog: dict | None = None) -> subprocess.CompletedProcess:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    extra = list(args)
    if catalog is not None:
        catalog_path = tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        extra += ["--catalog", str(catalog_path)]
    return subprocess.run(
        [TAP, "--config", str(config_path), *extra], capture_output=True, text=True, timeout=300, check=False
    )


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "| ERROR" in line]


def catalog_of(emu, *tables: str) -> dict:
    catalog = TapXactly(config=emu.tap_config(tables_include=list(tables))).catalog_dict
    for stream in catalog["streams"]:
        stream["metadata"][0]["metadata"]["selected"] = True
    return catalog


def test_missing_driver_jar_is_one_line_before_the_jvm_starts(tmp_path, emu):
    config = emu.tap_config()
    del config["driver_jar"]
    result = run_cli(tmp_path, config, "--discover")
    assert result.returncode == 1
    assert [line.split("| ")[-1] for line in error_lines(result)] == [
        "tap-xactly: error: setting driver_jar is not set: give the path of Xactly's JDBC driver jar "
        "(TAP_XACTLY_DRIVER_JAR)"
    ]
    assert "Traceback" not in result.stderr


def test_driver_jar_path_that_does_not_exist_is_named(tmp_path, emu):
    result = run_cli(tmp_path, emu.tap_config(driver_jar="/nowhere/xjdbc-1.8.0.jar"), "--discover")
    assert result.returncode == 1
    assert error_lines(result)[-1].endswith("setting driver_jar: no such file /nowhere/xjdbc-1.8.0.jar")


def test_wrong_driver_class_names_the_class(tmp_path, emu):
    result = run_cli(tmp_path, emu.tap_config(driver_class="com.xactly.connect.jdbc.Driver"), "--discover")
    assert result.returncode == 1
    assert len(error_lines(result)) == 1
    assert "class com.xactly.connect.jdbc.Driver not found" in error_lines(result)[0]


def test_wrong_credentials_fail_clearly_without_the_password(tmp_path, emu):
    result = run_cli(tmp_path, emu.tap_config(password="not-the-Secret-42"), "--discover")
    assert result.returncode == 1
    (line,) = error_lines(result)
    assert "authentication failed for user XACTLY_TAP" in line
    assert "28000" in line
    assert "not-the-Secret-42" not in result.stderr + result.stdout


def test_table_missing_from_the_source_fails_the_run_naming_it(tmp_path, xactly_db):
    emu = xactly_db(seed=2, volume=10, tables=["xc_credit", "xc_role"])
    catalog = catalog_of(emu, "xc_credit", "xc_role")
    emu.drop_table("xc_role")
    result = run_cli(tmp_path, emu.tap_config(), catalog=catalog)
    assert result.returncode == 1
    assert "stream xc_role: table not found" in error_lines(result)[-1]


def test_table_missing_from_the_source_is_skipped_when_asked(tmp_path, xactly_db):
    emu = xactly_db(seed=2, volume=10, tables=["xc_credit", "xc_role"])
    catalog = catalog_of(emu, "xc_credit", "xc_role")
    emu.drop_table("xc_role")
    result = run_cli(tmp_path, emu.tap_config(skip_missing_tables=True), catalog=catalog)
    assert result.returncode == 0, result.stderr[-2000:]
    assert any("xc_role skipped" in line for line in error_lines(result))
    streams = [json.loads(line)["stream"] for line in result.stdout.splitlines() if '"RECORD"' in line]
    assert streams.count("xc_credit") == 10


@pytest.fixture
def proxy(emu):
    fault_proxy = TcpFaultProxy(emu.server.port)
    yield fault_proxy
    fault_proxy.close()


def test_dropped_connection_mid_page_reconnects_without_duplicates_or_gaps(emu, proxy):
    config = emu.tap_config(
        jdbc_url=proxy.jdbc_url(), page_size=20, tables_include=["xc_credit"], retry_initial_seconds=0.05
    )
    catalog = catalog_of(emu, "xc_credit")
    proxy.drop_after(server_bytes=6000, times=1)
    result = sync(config, catalog=catalog)
    ids = [r["CREDIT_ID"] for r in result.records["xc_credit"]]
    assert proxy.dropped == 1
    assert proxy.connections == 2, "one reconnect"
    assert sorted(ids) == sorted(r["CREDIT_ID"] for r in emu.truth("xc_credit")["xc_credit"])
    assert len(ids) == len(set(ids))


def test_persistent_network_failure_gives_up_naming_table_and_sql_state(tmp_path, emu, proxy):
    config = emu.tap_config(
        jdbc_url=proxy.jdbc_url(), tables_include=["xc_credit"], max_retries=3, retry_initial_seconds=0.05
    )
    catalog = catalog_of(emu, "xc_credit")
    proxy.drop_after(server_bytes=0, times=1000)
    result = run_cli(tmp_path, config, catalog=catalog)
    assert result.returncode == 1
    line = error_lines(result)[-1]
    assert "stream xc_credit: gave up after 3 attempts in " in line
    assert "(max_retries=3, max_retry_seconds=300): connecting to jdbc:h2:tcp://" in line
    assert "connection failed (SQL state 90067)" in line
    assert proxy.connections == 3
    assert config["password"] not in result.stderr


def test_nothing_personal_is_logged_at_info(tmp_path, emu):
    result = run_cli(tmp_path, emu.tap_config(tables_include=["xc_participant"]))
    assert result.returncode == 0
    people = emu.truth("xc_participant")["xc_participant"]
    for row in people[:20]:
        for column in ("LAST_NAME", "CREATED_BY_NAME", "MODIFIED_BY_NAME"):
            assert str(row[column]) not in result.stderr
