"""Every bad input and unhandled error ends in one line naming the cause, exit code 1, no traceback, no secret."""

from __future__ import annotations

import json

import pytest
from landing_tap_kit.stub_servers import Page, StubServer
from landing_tap_kit.testing import invoke_cli

from tests.sample_tap import TapSample

SECRET = "s3cr3t-never-printed"


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "| ERROR" in line]


def _write(tmp_path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


@pytest.fixture
def config_file(tmp_path) -> str:
    return _write(tmp_path, "config.json", json.dumps({"api_url": "http://127.0.0.1:9", "password": SECRET}))


@pytest.mark.parametrize(
    ("option", "content", "expected"),
    [
        ("--config", "garbage", "is not valid JSON: Expecting value: line 1 column 1"),
        ("--config", '["api_url"]', "must hold a JSON object of settings, not a list"),
        ("--state", "[1]", "must hold a JSON object (Singer state), not a list"),
        ("--state", '{"bookmarks": {"things": 3}}', "the bookmark of stream 'things' must be an object, not a number"),
        ("--catalog", '{"streams": {}}', "must be a JSON object with a 'streams' list, not an object"),
        ("--catalog", '{"streams": [{"schema": {}}]}', "streams[0] has no 'tap_stream_id' string"),
    ],
)
def test_a_bad_file_is_named_in_one_line(capsys, tmp_path, config_file, option, content, expected):
    path = _write(tmp_path, "input.json", content)
    args = ["--config", path] if option == "--config" else ["--config", config_file, option, path]
    assert invoke_cli(TapSample, args) == 1
    (line,) = _error_lines(capsys)
    assert f"tap-sample: error: {option} {path}" in line
    assert expected in line


def test_a_missing_file_is_named(capsys, tmp_path, config_file):
    missing = str(tmp_path / "nowhere.json")
    assert invoke_cli(TapSample, ["--config", config_file, "--state", missing]) == 1
    (line,) = _error_lines(capsys)
    assert line.endswith(f"tap-sample: error: --state {missing} does not exist")


def test_a_catalog_selecting_a_stream_the_tap_lacks_is_refused_naming_it(capsys, tmp_path, config_file):
    catalog = {"streams": [{"tap_stream_id": "widgets", "schema": {}, "metadata": []}]}
    path = _write(tmp_path, "catalog.json", json.dumps(catalog))
    assert invoke_cli(TapSample, ["--config", config_file, "--catalog", path]) == 1
    (line,) = _error_lines(capsys)
    assert "selects stream(s) tap-sample does not have: widgets (it has: things)" in line


def test_a_catalog_selecting_nothing_warns_and_extracts_nothing(capsys, tmp_path, config_file):
    meta = [{"breadcrumb": [], "metadata": {"selected": False}}]
    path = _write(
        tmp_path, "catalog.json", json.dumps({"streams": [{"tap_stream_id": "things", "schema": {}, "metadata": meta}]})
    )
    assert invoke_cli(TapSample, ["--config", config_file, "--catalog", path]) == 0
    err = capsys.readouterr().err
    assert f"tap-sample: --catalog {path} selects no stream: nothing will be extracted" in err
    assert '"type":"RECORD"' not in err


def test_config_validation_problems_are_one_line(capsys, tmp_path):
    path = _write(tmp_path, "config.json", json.dumps({"password": SECRET, "max_retries": "many"}))
    assert invoke_cli(TapSample, ["--config", path]) == 1
    (line,) = _error_lines(capsys)
    assert "tap-sample: error: config: " in line
    assert "'api_url' is a required property" in line
    assert "'many' is not of type 'integer'" in line, "a value of a setting that is not secret helps: it stays"
    assert SECRET not in line


def test_an_error_during_the_sync_is_one_line_without_traceback_and_exit_code_1(sample_tap):
    with StubServer({"/things": Page(b'{"error": "no"}', 401)}) as server:
        run = sample_tap({"api_url": server.url, "password": SECRET})
    assert run.returncode == 1
    assert len(run.error_lines()) == 1
    assert run.error_lines()[0].endswith(f"tap-sample: error: HTTP 401 Unauthorized from {server.url}/things")
    assert "Traceback" not in run.log
    assert "An unhandled error occurred" not in run.log
    assert SECRET not in run.log


def test_a_bad_file_in_a_real_process_is_one_line_and_exit_code_1(sample_tap, tmp_path):
    state = _write(tmp_path, "state.json", "garbage")
    run = sample_tap({"api_url": "http://127.0.0.1:9"}, "--state", state)
    assert run.returncode == 1
    assert [line for line in run.log.splitlines() if line.strip()] == run.error_lines()
    assert f"--state {state} is not valid JSON" in run.error_lines()[0]


def test_about_ignores_the_input_checks(capsys, tmp_path):
    path = _write(tmp_path, "state.json", "garbage")
    assert invoke_cli(TapSample, ["--about", "--state", path]) == 0
    assert "tap-sample" in capsys.readouterr().out


def test_a_secret_of_the_wrong_type_is_refused_without_printing_it(capsys, tmp_path):
    """jsonschema quotes the refused value first; a password typed as a number must not reach the log."""
    path = _write(tmp_path, "config.json", json.dumps({"api_url": "http://127.0.0.1:9", "password": 987654321987}))
    assert invoke_cli(TapSample, ["--config", path]) == 1
    err = capsys.readouterr().err
    assert "987654321987" not in err
    (line,) = [line for line in err.splitlines() if "| ERROR" in line]
    assert "the value is not of type 'string'" in line
    assert "password" in line
