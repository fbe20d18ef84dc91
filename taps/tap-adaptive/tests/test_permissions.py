"""Deletions: a revoked permission is an error, a never-granted one a warning; versions after full reads only."""

from __future__ import annotations

import json
import logging
import math

from landing_tap_adaptive.tap import TapAdaptive

from emulators.core.faults import FaultRule
from tests.conftest import error_lines, run_cli, run_tap, tap_config

READ_MARK = "last_successful_read_at"


def test_a_complete_read_is_remembered_in_state_and_activates_after_the_last_record(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_users"})
    users = adaptive.emulator.truth()["exportUsers"]
    assert len(run.records["export_users"]) == len(users)
    assert run.state["bookmarks"]["export_users"][READ_MARK]
    (activation,) = run.activated("export_users")
    assert activation > run.last_record_at("export_users")


def test_a_permission_revoked_after_a_read_fails_loudly_and_retires_nothing(adaptive, tmp_path):
    first = run_tap(tap_config(adaptive), select={"export_users"})
    assert first.records["export_users"]
    adaptive.emulator.revoke("exportUsers")

    state = tmp_path / "state.json"
    state.write_text(json.dumps(first.state))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(_catalog_selecting(adaptive, tmp_path, {"export_users"})))
    result = run_cli(tap_config(adaptive), tmp_path, "--state", str(state), "--catalog", str(catalog))

    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert [entry for entry in result.stderr.splitlines() if "ERROR" in entry] == [line]  # the only error line
    assert "export_users" in line
    assert "error-permission-denied" in line
    assert "revoked" in line
    messages = [json.loads(m) for m in result.stdout.splitlines() if m.strip()]
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]  # nothing retired in the warehouse
    assert not [m for m in messages if m["type"] == "RECORD"]
    # State still says the stream was read, so the next run fails loudly again instead of going quiet.
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert all(s["bookmarks"]["export_users"][READ_MARK] for s in states)


def test_a_method_never_permitted_is_skipped_with_one_warning_and_no_activation(adaptive, caplog):
    caplog.set_level(logging.WARNING)
    run = run_tap(tap_config(adaptive), select={"export_dimension_mapping", "export_groups"})
    assert "export_dimension_mapping" in run.schemas  # the skeleton table still exists
    assert run.activated("export_dimension_mapping") == []
    assert READ_MARK not in run.state["bookmarks"].get("export_dimension_mapping", {})
    assert run.activated("export_groups")  # the run goes on
    warnings = [r for r in caplog.records if "export_dimension_mapping" in r.getMessage()]
    assert len(warnings) == 1
    assert "never read before" in warnings[0].getMessage()


def test_a_stream_killed_mid_read_announces_no_version(adaptive):
    """Model data fans out per modeled sheet; the second sheet's first page fails for good."""
    instance = adaptive.emulator.instance
    first_sheet = next(s for s in instance.sheets if s.attrs["type"] == "modeled")
    pages = math.ceil(len(instance.model_rows(first_sheet, instance.default_version().attrs["name"])) / 5)
    # request 1 = exportSheets, then the first sheet's pages: everything after that fails.
    adaptive.emulator.faults.replace([FaultRule(kind="status", status=500, skip=1 + pages, times=None)])
    select = {"export_sheets", "export_configurable_model_data"}

    run = run_tap(tap_config(adaptive, max_retries=0), select=select, expect_error=True)

    assert "gave up on" in str(run.error)
    assert run.records["export_configurable_model_data"]  # the first sheet was read and emitted...
    assert run.activated("export_configurable_model_data") == []  # ...but the table is not complete
    assert run.activated("export_sheets") == []


def test_a_child_stream_announces_once_after_every_partition(adaptive):
    run = run_tap(tap_config(adaptive), select={"export_sheets", "export_configurable_model_data"})
    sheets = {r["sheet_id"] for r in run.records["export_configurable_model_data"]}
    assert len(sheets) > 1
    (activation,) = run.activated("export_configurable_model_data")
    assert activation > run.last_record_at("export_configurable_model_data")


def _catalog_selecting(server, tmp_path, streams):
    catalog = TapAdaptive(config=tap_config(server)).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
