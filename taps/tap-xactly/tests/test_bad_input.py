"""Bad input files, selections and numeric settings (issue 10 §6): one line naming what is wrong."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from landing_tap_xactly.tap import TapXactly

from tests.test_errors import TAP, catalog_of, error_lines, run_cli

STATE_BAD = [
    ("not json", " is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    ("[1, 2]", " must hold a JSON object (Singer state), not a list"),
    ('{"bookmarks": 5}', ": 'bookmarks' must be an object of streams, not a number"),
]
CATALOG_BAD = [
    ("{", " is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('{"streams": 5}', " must be a JSON object with a 'streams' list, not a number"),
    ('{"streams": [{"schema": {}}]}', ": streams[0] has no 'tap_stream_id' string"),
]
#: How the command line starts every error line (landing_tap_kit.cli).
ERROR = "tap-xactly: error: "


def only_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result)
    return line.split("| ")[-1]


@pytest.mark.parametrize(("text", "problem"), STATE_BAD)
def test_a_broken_state_file_is_named_in_one_line(tmp_path, emu, text, problem):
    path = tmp_path / "state.json"
    path.write_text(text)
    result = run_cli(tmp_path, emu.tap_config(), "--state", str(path))
    assert only_error(result) == f"{ERROR}--state {path}{problem}"


@pytest.mark.parametrize(("text", "problem"), CATALOG_BAD)
def test_a_broken_catalog_file_is_named_in_one_line(tmp_path, emu, text, problem):
    path = tmp_path / "catalog.json"
    path.write_text(text)
    result = run_cli(tmp_path, emu.tap_config(), "--catalog", str(path))
    assert only_error(result) == f"{ERROR}--catalog {path}{problem}"


def test_a_catalog_stream_without_schema_is_named(tmp_path, emu):
    path = tmp_path / "catalog.json"
    path.write_text('{"streams": [{"tap_stream_id": "xc_credit"}]}')
    result = run_cli(tmp_path, emu.tap_config(), "--catalog", str(path))
    assert only_error(result) == f"{ERROR}The schema for stream 'xc_credit' was not provided"


def test_a_broken_config_file_is_named_without_its_contents(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"password": "Very-Secret-1", ')
    result = subprocess.run([TAP, "--config", str(path), "--discover"], capture_output=True, text=True, check=False)
    assert only_error(result).startswith(f"{ERROR}--config {path} is not valid JSON: ")
    assert "Very-Secret-1" not in result.stderr + result.stdout


def test_a_config_that_is_not_an_object_and_a_missing_one_are_named(tmp_path):
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    result = subprocess.run([TAP, f"--config={listed}", "--discover"], capture_output=True, text=True, check=False)
    assert only_error(result) == f"{ERROR}--config {listed} must hold a JSON object of settings, not a list"
    missing = tmp_path / "nowhere.json"
    result = subprocess.run([TAP, "--config", str(missing), "--discover"], capture_output=True, text=True, check=False)
    assert only_error(result) == f"{ERROR}--config {missing} does not exist"


def test_a_catalog_stream_the_source_does_not_have_is_named(tmp_path, emu):
    catalog = catalog_of(emu, "xc_attainment_measure")
    ghost = json.loads(json.dumps(catalog["streams"][0]))
    ghost["tap_stream_id"] = ghost["stream"] = "xc_ghost"
    catalog["streams"].append(ghost)
    line = only_error(run_cli(tmp_path, emu.tap_config(), catalog=catalog))
    assert line.startswith(f"{ERROR}stream xc_ghost: table not found")


def test_a_catalog_selecting_nothing_warns_and_extracts_nothing(tmp_path, emu):
    catalog = catalog_of(emu, "xc_attainment_measure")
    for stream in catalog["streams"]:
        (root,) = [entry for entry in stream["metadata"] if entry["breadcrumb"] == []]
        root["metadata"]["selected"] = False
    result = run_cli(tmp_path, emu.tap_config(), catalog=catalog)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line.split("| ")[-1] for line in result.stderr.splitlines() if "| WARNING" in line]
    assert f"tap-xactly: --catalog {tmp_path / 'catalog.json'} selects no stream: nothing will be extracted" in warnings
    assert '"RECORD"' not in result.stdout


@pytest.mark.parametrize(("page_size", "first_wait"), [(5, 2.5), ("5", "2.5"), (" 5 ", 2)])
def test_numeric_settings_take_numbers_and_numeric_strings(tmp_path: Path, emu, page_size, first_wait):
    config = emu.tap_config(
        page_size=page_size, retry_initial_seconds=first_wait, max_retry_seconds="30", connect_timeout_seconds="10"
    )
    result = run_cli(tmp_path, config, catalog=catalog_of(emu, "xc_attainment_measure"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count('"RECORD"') == len(emu.truth("xc_attainment_measure")["xc_attainment_measure"])


def test_a_non_numeric_setting_is_named(tmp_path, emu):
    result = run_cli(tmp_path, emu.tap_config(page_size="lots"), "--discover")
    assert result.returncode == 1
    assert "page_size" in "\n".join(error_lines(result))


def test_meltano_setting_kinds_send_what_the_tap_accepts():
    """Meltano casts by ``kind`` (and cannot send ``decimal``): every numeric setting must survive that."""
    definition = Path(__file__).parents[1] / "tap-xactly.meltano.yml"
    (extractor,) = yaml.safe_load(definition.read_text())["plugins"]["extractors"]
    kinds = {s["name"]: s.get("kind", "string") for s in extractor["settings"]}
    properties = TapXactly.config_jsonschema["properties"]
    numeric = {
        name
        for name, schema in properties.items()
        if {"integer", "number"} & set(schema.get("type", [])) and not name.startswith("flattening_")  # the SDK's
    }
    assert numeric <= set(kinds), "every numeric setting is declared to Meltano"
    for name in numeric:
        assert kinds[name] in {"integer", "string"}, name
        if "number" in properties[name]["type"]:
            assert kinds[name] == "string", f"{name}: kind integer would refuse 0.5"
        if kinds[name] == "string":
            assert "string" in properties[name]["type"], f"{name}: Meltano sends it as text"


def test_a_setting_of_the_wrong_type_is_named_without_its_value(tmp_path, emu):
    """A password typed as a number must not reach the log (the schema validator quotes values)."""
    config = emu.tap_config(password=987654321987)
    result = run_cli(tmp_path, config, catalog=catalog_of(emu, "xc_attainment_measure"))
    expected = "invalid value for setting password: see its type in `landing-tap-xactly --about`"
    assert only_error(result) == ERROR + expected
    assert "987654321987" not in result.stderr + result.stdout
