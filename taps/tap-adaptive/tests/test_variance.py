"""What real instances send: ragged CSV rows, line breaks in cells, values listed twice, new attributes."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from landing_tap_adaptive.tap import TapAdaptive

from tests.conftest import run_tap, tap_config

SELECT = {"export_versions", "export_data"}


def _data_rows(server, version):
    """The CSV data rows the emulator computes for the tap's own exportData call of one version."""
    call = next(
        c
        for c in server.emulator.calls()
        if c.get("method") == "exportData" and c.find("version").get("name") == version
    )
    return server.emulator.export_rows(ET.tostring(call, encoding="unicode"))


@pytest.mark.parametrize("delta", [-1, 1], ids=["short-row", "long-row"])
def test_a_ragged_export_data_row_is_refused_before_any_of_its_values(emulator, delta):
    version = "FY24 Plan"
    server = emulator("adaptive", seed=7, volume=40, ragged_rows=f"{version}:2:{delta}")
    run = run_tap(tap_config(server), select=SELECT, expect_error=True)

    periods, rows = _data_rows(server, version)
    bad = rows[1]  # data row 2
    message = str(run.error)
    assert f"version {version!r}" in message
    assert "data row 2" in message
    assert repr(bad.account.attrs["code"]) in message
    width = 4 + len(periods)  # Account Name, Account Code, Level Code, Level Name, one column per period
    assert f"has {width + delta} cells for {width} columns" in message
    landed = [r for r in run.records.get("export_data", []) if r["version_name"] == version]
    first = rows[0]
    # Row 1 landed whole; not one cell of row 2 (nor anything after it) was emitted.
    assert len(landed) == len(periods)
    assert {(r["account_code"], r["level_code"]) for r in landed} == {
        (first.account.attrs["code"], first.level.attrs["code"])
    }
    marked = run.state.get("bookmarks", {}).get("export_data", {}).get("partitions", [])
    assert not any(p.get("version_name") == version and p.get("exported_at") for p in marked)


def test_line_breaks_inside_cells_survive_in_every_csv_stream(emulator):
    server = emulator("adaptive", seed=7, volume=40, multiline_text=True)
    run = run_tap(
        tap_config(server),
        select=SELECT | {"export_sheets", "export_configurable_model_data", "export_accounts"},
    )
    instance = server.emulator.instance
    names = {a.attrs["code"]: a.attrs["name"] for a in instance.data_accounts}
    assert any("\n" in n for n in names.values())
    assert any("\u2028" in n for n in names.values())
    data = run.records["export_data"]
    for record in data:
        assert record["account_name"] == names[record["account_code"]]
    assert {r["account_name"] for r in data} & {n for n in names.values() if "\n" in n or "\u2028" in n}
    accounts = {r["code"]: r["name"] for r in run.records["export_accounts"]}
    assert all(accounts[code] == name for code, name in names.items())  # XML attributes keep them too

    default = instance.default_version().attrs["name"]
    items = []
    for sheet in instance.sheets:
        if sheet.attrs["type"] != "modeled":
            continue
        expected = instance.model_rows(sheet, default)
        got = [r for r in run.records["export_configurable_model_data"] if r["sheet_id"] == int(sheet.attrs["id"])]
        assert [list(r["values"].values()) for r in got] == expected
        items += [row[1] for row in expected]
    assert any("\n" in i for i in items)
    assert any("\u2028" in i for i in items)


def test_a_dimension_value_listed_twice_lands_once_with_a_warning(emulator, caplog):
    caplog.set_level(logging.WARNING)
    server = emulator("adaptive", seed=7, volume=40, duplicate_dimension_values="US,ENG")
    truth = server.emulator.truth()["exportDimensions"]
    listed = [(n["_tag"], n["id"]) for n in truth]
    assert len(listed) == len(set(listed)) + 2  # the source really lists two values twice

    run = run_tap(tap_config(server), select={"export_dimensions"})
    records = run.records["export_dimensions"]
    keys = [(r["node_type"], r["dimension_id"], r["id"]) for r in records]
    assert len(keys) == len(set(keys))
    assert len(records) == len(set(listed))
    us = next(r for r in records if r["code"] == "US")
    assert us["depth"] == 2  # the first listing (under Americas) is the one kept
    assert us["dimension_id"] == 16
    warnings = [r.getMessage() for r in caplog.records if "more than once" in r.getMessage()]
    assert len(warnings) == 1
    assert "export_dimensions" in warnings[0]


def test_dimension_values_are_keyed_within_their_dimension(adaptive):
    stream = TapAdaptive(config=tap_config(adaptive)).streams["export_dimensions"]
    assert tuple(stream.primary_keys) == ("node_type", "dimension_id", "id")
