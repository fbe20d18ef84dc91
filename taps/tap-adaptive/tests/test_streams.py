"""Metadata exports: every method is a stream, trees flatten, encodings normalise (truth = the emulator)."""

from __future__ import annotations

import logging
from datetime import datetime

from landing_tap_adaptive.tap import TapAdaptive

from tests.conftest import run_tap, tap_config

OPERATORS_METHODS = {
    "exportAccounts",
    "exportActiveCurrencies",
    "exportAttributes",
    "exportConfigurableModelData",
    "exportCustomerLogo",
    "exportData",
    "exportDimensionFamilies",
    "exportDimensions",
    "exportDimensionMapping",
    "exportGroups",
    "exportInstances",
    "exportLevels",
    "exportLocales",
    "exportModeledSheet",
    "exportRoles",
    "exportPermissionSets",
    "exportSecurityAudit",
    "exportSheetDefinition",
    "exportSheets",
    "exportTime",
    "exportTransactionDefinition",
    "exportUsers",
    "exportVersions",
}


def _by_id(rows, key="id"):
    return {int(r[key]): r for r in rows}


def test_every_operator_method_is_a_stream(adaptive):
    tap = TapAdaptive(config=tap_config(adaptive))
    assert {s.method for s in tap.streams.values()} == OPERATORS_METHODS
    assert len(tap.streams) == 23
    assert all(s.primary_keys for s in tap.streams.values())


def test_hierarchies_become_one_record_per_node_with_parent_depth_and_path(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_accounts", "export_levels", "export_versions"})
    truth = adaptive.emulator.truth()
    for stream, method in [
        ("export_accounts", "exportAccounts"),
        ("export_levels", "exportLevels"),
        ("export_versions", "exportVersions"),
    ]:
        got = _by_id(run.records[stream])
        expected = _by_id(truth[method])
        assert got.keys() == expected.keys(), stream
        for node_id, node in expected.items():
            record = got[node_id]
            parent = node["_parent_id"]
            assert record["parent_id"] == (None if parent is None else int(parent)), (stream, node_id)
            assert record["depth"] == node["_depth"]
            assert record["path"][-1] == node["name"]
            assert len(record["path"]) == node["_depth"] + 1
            if parent is not None:
                assert record["path"][:-1] == got[int(parent)]["path"]


def test_mixed_node_trees_keep_their_node_type_and_root(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_dimensions", "export_attributes", "export_time"})
    truth = adaptive.emulator.truth()
    for stream, method, root_key in [
        ("export_dimensions", "exportDimensions", "dimension_id"),
        ("export_attributes", "exportAttributes", "attribute_id"),
        ("export_time", "exportTime", None),
    ]:
        got = {(r["node_type"], r["id"]) for r in run.records[stream]}
        assert len(got) == len(truth[method]), stream
        for record in run.records[stream]:
            if root_key and record["depth"] > 0:
                assert record[root_key] != record["id"]
    periods = [r for r in run.records["export_time"] if r["node_type"] == "period"]
    months = [p for p in periods if p["stratum_id"] == 1]
    assert all(p["depth"] == 2 and p["code"][2] == "/" for p in months)


def test_attribute_lists_are_json_arrays(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_accounts", "export_dimensions"})
    truth = _by_id(adaptive.emulator.truth()["exportAccounts"])
    for record in run.records["export_accounts"]:
        expected = truth[record["id"]]["_attributes"]
        assert record["attributes"] == [
            {
                "attribute_id": a["attributeId"],
                "name": a["name"],
                "value_id": a["valueId"],
                "value": a["value"],
            }
            for a in expected
        ]
    assert any(r["attributes"] for r in run.records["export_dimensions"])


def test_mixed_boolean_encodings_become_booleans(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_versions", "export_levels", "export_accounts", "export_users"})
    truth = _by_id(adaptive.emulator.truth()["exportVersions"])
    for record in run.records["export_versions"]:
        source = truth[record["id"]]
        assert record["is_locked"] is (source["isLocked"] == "true")  # "true"/"false" encoding
        assert record["is_importable"] is (source["isImportable"] == "1")  # "1"/"0" encoding
    assert {type(r["has_children"]) for r in run.records["export_levels"]} == {bool}
    assert {type(r["is_group"]) for r in run.records["export_accounts"]} == {bool}
    assert {type(r["locked"]) for r in run.records["export_users"]} == {bool}
    assert all(isinstance(v, bool) for r in run.records["export_users"] for v in r["subscriptions"].values())


def test_timestamps_become_utc_and_id_lists_become_arrays(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_users"})
    truth = _by_id(adaptive.emulator.truth()["exportUsers"])
    for record in run.records["export_users"]:
        source = truth[record["id"]]
        created = datetime.fromisoformat(record["created_date"])
        assert created.utcoffset().total_seconds() == 0
        assert created.strftime("%Y-%m-%d %H:%M:%S.0") == source["createdDate"]
        if not source["lastLogin"]:
            assert record["last_login"] is None
        assert record["group_ids"] == source["groupIds"].split(",")
        assert record["permission_set_ids"] == source["permissionSetIds"].split(",")


def test_flat_exports_match_the_instance(adaptive):
    streams = {
        "export_active_currencies": "exportActiveCurrencies",
        "export_groups": "exportGroups",
        "export_roles": "exportRoles",
        "export_permission_sets": "exportPermissionSets",
        "export_dimension_families": "exportDimensionFamilies",
        "export_sheets": "exportSheets",
    }
    run = run_tap(tap_config(adaptive), select=set(streams) | {"export_instances", "export_locales"})
    truth = adaptive.emulator.truth()
    for stream, method in streams.items():
        assert sorted(r["id"] for r in run.records[stream]) == sorted(int(r["id"]) for r in truth[method]), stream
    assert {r["code"] for r in run.records["export_instances"]} == {r["code"] for r in truth["exportInstances"]}
    assert {r["code"] for r in run.records["export_locales"]} == {r["code"] for r in truth["exportLocales"]}


def test_unsupported_method_emits_schema_warns_once_and_the_run_goes_on(adaptive, caplog):
    caplog.set_level(logging.WARNING)
    run = run_tap(tap_config(adaptive), select={"export_dimension_mapping", "export_groups"})
    assert "export_dimension_mapping" in run.schemas
    assert "export_dimension_mapping" not in run.records
    assert run.records["export_groups"]
    warnings = [
        r for r in caplog.records if "export_dimension_mapping" in r.getMessage() and "not available" in r.getMessage()
    ]
    assert len(warnings) == 1


def test_sheet_methods_fan_out_per_modeled_sheet(adaptive):
    run = run_tap(
        tap_config(adaptive),
        select={
            "export_sheets",
            "export_sheet_definition",
            "export_modeled_sheet",
            "export_configurable_model_data",
        },
    )
    instance = adaptive.emulator.instance
    modeled = {int(s.attrs["id"]) for s in instance.sheets if s.attrs["type"] == "modeled"}
    assert {r["id"] for r in run.records["export_sheet_definition"]} == modeled
    assert {r["sheet_id"] for r in run.records["export_modeled_sheet"]} == modeled
    assert all(r["columns"] for r in run.records["export_sheet_definition"])
    default = instance.default_version().attrs["name"]
    for sheet in instance.sheets:
        if sheet.attrs["type"] != "modeled":
            continue
        expected = instance.model_rows(sheet, default)
        got = [r for r in run.records["export_configurable_model_data"] if r["sheet_id"] == int(sheet.attrs["id"])]
        assert [list(r["values"].values()) for r in got] == expected  # every page, in order


def test_security_audit_is_incremental_on_event_time(adaptive):
    config = tap_config(adaptive)
    first = run_tap(config, select={"export_security_audit"})
    events = adaptive.emulator.truth()["exportSecurityAudit"]
    assert len(first.records["export_security_audit"]) == len(events)
    bookmark = first.state["bookmarks"]["export_security_audit"]["replication_key_value"]
    assert bookmark.startswith(max(e["dateTime"] for e in events).replace(" ", "T"))
    adaptive.emulator.requests.clear()
    second = run_tap(config, state=first.state, select={"export_security_audit"})
    (call,) = [c for c in adaptive.emulator.calls() if c.get("method") == "exportSecurityAudit"]
    assert call.find("include").get("dateTimeFrom") == bookmark[:19].replace("T", " ")
    assert len(second.records["export_security_audit"]) == 1  # the bookmarked event itself (inclusive range)
