"""exportConfigurableModelData, the one paged export: pages in order, CSV cells with line breaks, cycles refused.

Shapes: ``<job jobNumber pageNumber>`` paging and the CSV in ``<output><data>`` are from adaptive.md §4/§7
(vendor doc for exportConfigurableModelData; wdadaptivepy reads ``output/data``); ``isLastPage`` is this
project's reading of how the last page is marked ([I] in the notes). The cycle is a fault, not a sample.
"""

from __future__ import annotations

from tests.conftest import run_tap

SELECT = {"export_sheets", "export_configurable_model_data"}


def test_pages_land_in_order_with_line_breaks_and_quotes_inside_cells(replay):
    replay.routes["exportSheets"] = "sheets_one_modeled.xml"
    replay.routes["exportConfigurableModelData"] = ["model_data_page_0.xml", "model_data_page_1.xml"]
    run = run_tap(replay.config(), select=SELECT)
    items = [r["values"]["Item"] for r in run.records["export_configurable_model_data"]]
    assert items == ['Laptop "Pro"', "Desk\nwith drawers", "Chair\u2028(ergonomic)", "Monitor"]
    assert [r["page_number"] for r in run.records["export_configurable_model_data"]] == [0, 0, 0, 1]
    pages = [c.find("job").get("pageNumber") for c in replay.calls if c.get("method") == "exportConfigurableModelData"]
    assert pages == ["0", "1"]
    assert all(r["sheet_name"] == "Capital Model" for r in run.records["export_configurable_model_data"])


def test_a_page_cycle_fails_the_stream_naming_the_repeated_page(replay):
    replay.routes["exportSheets"] = "sheets_one_modeled.xml"
    replay.routes["exportConfigurableModelData"] = ["model_data_page_0.xml", "model_data_page_back_to_0.xml"]
    run = run_tap(replay.config(), select=SELECT, expect_error=True)
    message = str(run.error)
    assert "stream export_configurable_model_data" in message
    assert "page 0 of job 77" in message
    assert "cycle" in message
    assert len([c for c in replay.calls if c.get("method") == "exportConfigurableModelData"]) == 2
    assert run.activated("export_configurable_model_data") == []
