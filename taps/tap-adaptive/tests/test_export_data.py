"""exportData as a child of exportVersions: folder walk, allow-list, long format, per-version bookmarks."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from landing_tap_adaptive.tap import TapAdaptive

from tests.conftest import ALLOW_LIST, run_cli, run_tap, tap_config

SELECT = {"export_versions", "export_data"}
FOLDER = "Shared with Data"


def _export_calls(server):
    return [c for c in server.emulator.calls() if c.get("method") == "exportData"]


def _expected(server, call):
    """Long-format cells the emulator's cube holds for one exportData call."""
    periods, rows = server.emulator.export_rows(ET.tostring(call, encoding="unicode"))
    dim_names = [d.get("name") for d in call.iterfind("dimensions/dimension")]
    cells = {}
    for row in rows:
        key = "|".join(f"{name}={code}" for name, (code, _) in zip(dim_names, row.dims, strict=True))
        for period, value in zip(periods, row.values, strict=True):
            status = "blank" if value is None else "invalid" if value == "I" else "value"
            cells[(row.account.attrs["code"], row.level.attrs["code"], key, period)] = (
                None if status != "value" else value,
                status,
            )
    return cells


def _landed(records, version):
    return {
        (r["account_code"], r["level_code"], r["dimension_key"], r["period"]): (r["value"], r["value_status"])
        for r in records
        if r["version_name"] == version
    }


def test_each_leaf_version_of_the_folder_is_exported_once_in_long_format(adaptive):
    run = run_tap(tap_config(adaptive), select=SELECT)
    calls = _export_calls(adaptive)
    requested = [c.find("version").get("name") for c in calls]
    assert sorted(requested) == sorted(adaptive.emulator.leaf_versions(FOLDER))
    assert all(c.get("stream") == "true" for c in calls)
    records = run.records["export_data"]
    for call in calls:
        version = call.find("version").get("name")
        assert _landed(records, version) == _expected(adaptive, call)
    statuses = {r["value_status"] for r in records}
    assert statuses == {"value", "blank", "invalid"}  # blanks and invalid cells are not zeroes
    assert any(r["value"] == 0.0 and r["value_status"] == "value" for r in records)
    assert all(r["period_start"] and r["period_start"].endswith("-01") for r in records)


def test_no_account_outside_the_allow_list_is_ever_requested(adaptive):
    run_tap(tap_config(adaptive), select=SELECT)
    requested: set[str] = set()
    for call in adaptive.emulator.calls():  # every request the emulator received
        accounts = call.findall(".//filters/accounts/account") + call.findall(".//account")
        if call.get("method") == "exportData":
            assert call.find("filters/accounts") is not None, "an unfiltered exportData returns every account"
        for account in accounts:
            requested.add(account.get("code"))
            assert account.get("includeDescendants") == "false"
    assert requested
    assert requested <= set(ALLOW_LIST)


def test_second_run_skips_versions_already_exported(adaptive):
    config = tap_config(adaptive)
    first = run_tap(config, select=SELECT)
    partitions = first.state["bookmarks"]["export_data"]["partitions"]
    assert sorted(p["version_name"] for p in partitions) == sorted(adaptive.emulator.leaf_versions(FOLDER))
    assert all(p["exported_at"] and p["row_count"] > 0 for p in partitions)
    adaptive.emulator.requests.clear()
    second = run_tap(config, state=first.state, select=SELECT)
    assert _export_calls(adaptive) == []
    assert "export_data" not in second.records
    assert second.state["bookmarks"]["export_data"] == first.state["bookmarks"]["export_data"]


def test_force_versions_re_exports_only_the_named_versions(adaptive):
    config = tap_config(adaptive)
    first = run_tap(config, select=SELECT)
    adaptive.emulator.requests.clear()
    run_tap({**config, "export_data_force_versions": ["FY23 Final"]}, state=first.state, select=SELECT)
    assert [c.find("version").get("name") for c in _export_calls(adaptive)] == ["FY23 Final"]


def test_row_count_mismatch_leaves_the_version_unmarked(adaptive, caplog):
    caplog.set_level(logging.WARNING)
    adaptive.emulator.row_count_skew["FY24 Plan"] = 1
    run = run_tap(tap_config(adaptive), select=SELECT)
    marked = {p["version_name"] for p in run.state["bookmarks"]["export_data"]["partitions"] if p.get("exported_at")}
    assert "FY24 Plan" not in marked
    assert marked == set(adaptive.emulator.leaf_versions(FOLDER)) - {"FY24 Plan"}
    assert any("FY24 Plan" in r.getMessage() and "rowCountSent" in r.getMessage() for r in caplog.records)
    adaptive.emulator.requests.clear()
    run_tap(tap_config(adaptive), state=run.state, select=SELECT)
    assert [c.find("version").get("name") for c in _export_calls(adaptive)] == ["FY24 Plan"]


def test_empty_allow_list_turns_export_data_off_with_a_warning(adaptive, caplog):
    caplog.set_level(logging.WARNING)
    run = run_tap(tap_config(adaptive, export_data_account_codes=[]), select=SELECT | {"export_groups"})
    assert _export_calls(adaptive) == []
    assert "export_data" not in run.records
    assert run.records["export_versions"]
    assert run.records["export_groups"]
    assert any("export_data_account_codes" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_unknown_version_folder_fails_naming_it_and_listing_existing_folders(adaptive, tmp_path):
    result = run_cli(tap_config(adaptive, export_data_version_folder="Shared with Dat"), tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "tap-adaptive:" in line and "ERROR" in line]
    assert len(errors) == 1
    (line,) = errors
    assert "'Shared with Dat'" in line
    assert "export_data_version_folder" in line
    for folder in ("'Shared with Data'", "'Archive'", "'Working Drafts'", "'Empty Folder'"):
        assert folder in line
    assert "Traceback" not in result.stderr


def test_export_data_settings_shape_the_request_and_the_records(adaptive):
    config = tap_config(
        adaptive,
        export_data_levels=["Total Company"],
        export_data_levels_include_descendants=True,
        export_data_dimensions=["Department", "Region"],
        export_data_start_period="Q2-2024",
        export_data_end_period="Q3-2024",
        export_data_stratum="qtr",
        export_data_currency="EUR",
        export_data_include_rollup_accounts=False,
        export_data_include_zero_rows=False,
    )
    run = run_tap(config, select=SELECT)
    call = _export_calls(adaptive)[0]
    assert call.find("filters/timeSpan").attrib == {"start": "Q2-2024", "end": "Q3-2024", "stratum": "qtr"}
    assert call.find("filters/levels/level").attrib == {
        "name": "Total Company",
        "isRollup": "true",
        "includeDescendants": "true",
    }
    assert call.find("rules/currency").attrib == {"override": "EUR"}
    assert call.find("rules").get("includeRollupAccounts") == "false"
    assert call.find("rules").get("includeZeroRows") == "false"
    version = call.find("version").get("name")
    assert _landed(run.records["export_data"], version) == _expected(adaptive, call)
    sample = run.records["export_data"][0]
    assert [d["dimension"] for d in sample["dimensions"]] == ["Department", "Region"]
    assert {r["period"] for r in run.records["export_data"]} <= {"Q2-2024", "Q3-2024"}


def test_deselected_properties_are_dropped_from_cells(adaptive):
    catalog = TapAdaptive(config=tap_config(adaptive)).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if stream["tap_stream_id"] == "export_data" and entry["breadcrumb"] == ["properties", "account_name"]:
                entry["metadata"]["selected"] = False
    run = run_tap(tap_config(adaptive), select=SELECT, catalog=catalog)
    assert run.records["export_data"]
    assert all("account_name" not in r and "account_code" in r for r in run.records["export_data"])
