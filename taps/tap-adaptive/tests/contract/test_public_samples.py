"""Public sample responses (vendor-doc examples as mirrored by public clients' test suites) through the tap.

Every fixture is written for this project from facts listed in SOURCES.md beside this file; each test
replays one shape over real HTTP and checks what lands: records, types, extra_fields and warnings.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import run_tap


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_nested_accounts_keep_unknown_attributes_and_null_empty_numbers(replay, caplog):
    caplog.set_level(logging.WARNING)
    replay.routes["exportAccounts"] = "accounts_nested_with_new_attributes.xml"
    run = run_tap(replay.config(), select={"export_accounts"})
    records = {r["id"]: r for r in run.records["export_accounts"]}
    assert list(records) == [2, 3, 6]
    assert [records[i]["parent_id"] for i in (2, 3, 6)] == [None, 2, 3]
    assert records[6]["path"] == ["Group", "Balance", "Leaf"]
    group = records[2]
    assert group["code"] == ""  # group accounts carry empty codes
    assert group["is_group"] is True
    assert group["owning_sheet_id"] is None  # "" is the API's nothing, not drift
    assert group["has_salary_detail"] is None
    assert group["extra_fields"] == {"actualsBy": "", "levelDimWeightAcctId": "", "hasFormula": "0"}
    assert records[3]["extra_fields"] == {"actualsBy": "BALANCE", "hasFormula": "0"}
    assert records[6]["attributes"] == [{"name": "FF", "value": "ghjk", "attribute_id": "22", "value_id": "11"}]
    (warning,) = [w for w in _warnings(caplog) if "extra_fields" in w]
    assert warning == (
        "stream export_accounts: fields not in the schema kept in extra_fields: "
        "actualsBy, hasFormula, levelDimWeightAcctId"
    )
    assert run.activated("export_accounts")


def test_an_account_with_only_id_and_name_lands_with_nulls(replay):
    replay.routes["exportAccounts"] = "accounts_minimal_single_quotes.xml"
    run = run_tap(replay.config(), select={"export_accounts"})
    (record,) = run.records["export_accounts"]
    assert record["id"] == 124
    assert record["name"] == "hello"
    assert record["code"] is None
    assert record["is_group"] is None
    assert record["attributes"] == []
    assert record["extra_fields"] is None


def test_levels_mix_true_false_and_1_0_booleans_and_have_no_codes(replay):
    replay.routes["exportLevels"] = "levels_nested_mixed_booleans.xml"
    run = run_tap(replay.config(), select={"export_levels"})
    records = {r["id"]: r for r in run.records["export_levels"]}
    assert records[2]["has_children"] is True  # "true"
    assert records[2]["is_importable"] is True  # "1"
    assert records[5]["has_children"] is None  # attribute absent on leaves
    assert records[8]["currency"] == "EUR"
    assert {r["code"] for r in records.values()} == {None}
    assert records[5]["attributes"][1] == {"attribute_id": "7", "name": "G", "value_id": "12", "value": "H"}
    assert [records[i]["depth"] for i in (2, 3, 5, 8)] == [0, 1, 2, 2]


def test_a_dimension_value_listed_twice_lands_once_keyed_within_its_dimension(replay, caplog):
    caplog.set_level(logging.WARNING)
    replay.routes["exportDimensions"] = "dimensions_value_listed_twice.xml"
    run = run_tap(replay.config(), select={"export_dimensions"})
    records = run.records["export_dimensions"]
    keys = [(r["node_type"], r["dimension_id"], r["id"]) for r in records]
    assert len(keys) == len(set(keys)) == 9
    assert ("dimension_value", 1, 2) in keys
    assert ("dimension", 3, 3) in keys  # a dimension without values still lands
    austria = next(r for r in records if r["id"] == 600)
    assert austria["name"] == "Österreich"
    geography = next(r for r in records if r["id"] == 16)
    assert geography["extra_fields"] == {"property1": "Latitude", "property2": "Longitude"}
    assert any("more than once" in w and "'id': 2" in w for w in _warnings(caplog))


def test_version_trees_with_both_boolean_encodings(replay):
    replay.routes["exportVersions"] = "versions_tree_true_false_and_1_0.xml"
    run = run_tap(replay.config(export_data_account_codes=[]), select={"export_versions"})
    records = {r["id"]: r for r in run.records["export_versions"]}
    assert set(records) == {1, 5, 6, 8, 2, 10}
    assert records[6]["parent_id"] == 5
    assert records[6]["path"] == ["Actuals", "Adjusted Actuals", "Original Import"]
    assert records[2]["is_default_version"] is True
    assert records[6]["is_importable"] is True
    assert records[1]["is_importable"] is False
    assert records[10]["is_predictive"] is False
    assert records[1]["completed_values_thru"] == "03/2012"


def test_time_strata_and_periods_flatten_with_their_own_node_types(replay, caplog):
    caplog.set_level(logging.WARNING)
    replay.routes["exportTime"] = "time_strata_and_periods.xml"
    run = run_tap(replay.config(), select={"export_time"})
    by_type: dict[str, list[dict]] = {}
    for record in run.records["export_time"]:
        by_type.setdefault(record["node_type"], []).append(record)
    assert [s["code"] for s in by_type["stratum"]] == ["year", "qtr", "month"]
    assert [p["code"] for p in by_type["period"]] == ["2015", "Q1-2015", "01/2015", "02/2015"]
    january = by_type["period"][2]
    assert (january["timeslot"], january["stratum_id"], january["end"], january["depth"]) == (180, 1, "2015-02-01", 2)
    assert by_type["stratum"][2]["is_default"] is True
    assert not [w for w in _warnings(caplog) if "extra_fields" in w]


def test_users_with_missing_optional_keys_and_non_ascii_names(replay):
    replay.routes["exportUsers"] = "users_optional_keys_missing.xml"
    run = run_tap(replay.config(), select={"export_users"})
    anna, random_user = run.records["export_users"]
    assert anna["group_ids"] is None
    assert anna["created_date"] is None
    assert anna["subscriptions"] is None
    assert anna["permission_set_ids"] == ["3"]
    assert random_user["name"] == "Jöns Rändöm 山田"
    assert random_user["position"] == "Director FP&A"
    assert random_user["group_ids"] == ["304", "1", "101", "102"]
    assert random_user["created_date"] == "2020-06-26T07:56:00+00:00"
    assert random_user["last_login"] is None
    assert random_user["locked"] is False
    assert random_user["subscriptions"]["system_alerts_and_updates"] is True


def test_numbers_as_text_convert_and_a_non_number_is_kept_in_extra_fields(replay, caplog):
    caplog.set_level(logging.WARNING)
    replay.routes["exportActiveCurrencies"] = "currencies_numbers_as_text.xml"
    run = run_tap(replay.config(), select={"export_active_currencies"})
    records = {r["code"]: r for r in run.records["export_active_currencies"]}
    assert records["EUR"]["precision"] == 4
    assert records["USD"]["is_reporting_currency"] is True
    assert records["XAU"]["precision"] is None
    assert records["XAU"]["extra_fields"] == {"precision": "two"}
    drift = [w for w in _warnings(caplog) if "schema says" in w]
    assert drift == [
        "stream export_active_currencies: field precision sent as string, schema says integer; kept in extra_fields"
    ]


def test_groups_without_an_owner_and_comma_lists_of_permissions(replay):
    replay.routes["exportGroups"] = "groups_owner_missing.xml"
    replay.routes["exportPermissionSets"] = "permission_sets_comma_lists.xml"
    run = run_tap(replay.config(), select={"export_groups", "export_permission_sets"})
    groups = {g["id"]: g for g in run.records["export_groups"]}
    assert groups[1]["is_global"] is True
    assert groups[1]["owner_id"] is None
    assert groups[4]["owner_id"] == 3
    sets = {p["id"]: p["permissions"] for p in run.records["export_permission_sets"]}
    assert sets == {1: ["SHT", "RPT", "SCOREBOARD"], 2: ["SHT", "RPT", "SCOREBOARD", "SAL", "MOD", "IMP", "EXP"]}


def test_an_empty_output_is_a_complete_empty_table(replay):
    replay.routes["exportGroups"] = "empty_output.xml"
    run = run_tap(replay.config(), select={"export_groups"})
    assert "export_groups" not in run.records
    assert "export_groups" in run.schemas
    assert run.activated("export_groups")  # read completely: nothing is left in Adaptive


def test_an_authentication_failure_envelope_is_fatal_and_names_the_setting(replay):
    replay.routes["exportGroups"] = "error_authentication_failure.xml"
    run = run_tap(replay.config(), select={"export_groups"}, expect_error=True)
    message = str(run.error)
    assert "authentication failed for username 'someone@example.com'" in message
    assert "`password`" in message
    assert "secret" not in message
    assert len(replay.calls) == 1  # not retried


def test_streamed_export_data_with_four_dimension_columns_and_blank_marker(replay):
    replay.routes["exportVersions"] = "versions_shared_folder.xml"
    replay.routes["exportData"] = "data_streamed_with_dimensions.xml"
    run = run_tap(replay.config(), select={"export_versions", "export_data"})
    cells = {(r["account_code"], r["period"]): r for r in run.records["export_data"]}
    assert len(cells) == 9
    assert cells[("2000", "01/2026")]["value"] == -1869.3
    assert cells[("4000", "01/2026")]["value_status"] == "blank"
    assert cells[("4000", "01/2026")]["value"] is None
    revenue = cells[("4000", "02/2026")]
    assert revenue["level_code"] == "300"
    assert revenue["level_name"] == "R&D"
    assert revenue["dimensions"] == [
        {"dimension": "Location", "code": "None", "name": "None"},
        {"dimension": "Vendor", "code": "None", "name": "None"},
    ]
    assert cells[("1000", "02/2026")]["dimension_key"] == "Location=Remote|Vendor=10000"
    (partition,) = run.state["bookmarks"]["export_data"]["partitions"]
    assert partition["row_count"] == 3  # rowCountSent matched: the version is done


def test_non_streamed_export_data_without_codes_lands_but_is_not_marked_done(replay, caplog):
    caplog.set_level(logging.WARNING)
    replay.routes["exportVersions"] = "versions_shared_folder.xml"
    replay.routes["exportData"] = "data_not_streamed_names_only.xml"
    run = run_tap(replay.config(), select={"export_versions", "export_data"})
    records = run.records["export_data"]
    assert len(records) == 4
    assert {r["level_code"] for r in records} == {"c", "d"}  # no Level Code column: the name stands in
    assert {r["value"] for r in records if r["period"] == "05/2022"} == {1223.12, -334.123}
    assert records[0]["dimensions"][0] == {"dimension": "GL Account", "code": None, "name": "e"}
    partitions = run.state["bookmarks"]["export_data"]["partitions"]
    assert not any(p.get("exported_at") for p in partitions)  # no rowCountSent to check against
    assert any("rowCountSent=None" in w for w in _warnings(caplog))


def test_header_only_export_data_is_an_exported_empty_version(replay):
    replay.routes["exportVersions"] = "versions_shared_folder.xml"
    replay.routes["exportData"] = "data_header_only.xml"
    run = run_tap(replay.config(), select={"export_versions", "export_data"})
    assert "export_data" not in run.records
    (partition,) = run.state["bookmarks"]["export_data"]["partitions"]
    assert partition["row_count"] == 0
