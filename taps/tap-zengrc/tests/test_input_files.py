"""Bad --config/--state/--catalog files end in one line naming the file and what is wrong, exit status 1."""

from __future__ import annotations

import json
import subprocess

import pytest
from landing_tap_kit.testing import invoke_cli
from landing_tap_zengrc.tap import TapZenGRC

from tests.support import TAP, catalog_selecting, clean_environment, tap_config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tap_config("http://127.0.0.1:9")))
    return str(path)


def _cli(capsys, *args: str) -> tuple[int, list[str]]:
    """Run the tap's command line in this process; its exit status and its ERROR/WARNING lines."""
    code = invoke_cli(TapZenGRC, args)
    lines = [line for line in capsys.readouterr().err.splitlines() if "| ERROR" in line or "| WARNING" in line]
    return code, lines


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("option", "text", "expected"),
    [
        ("--state", "garbage", "is not valid JSON: Expecting value: line 1 column 1"),
        ("--state", "[1, 2]", "must hold a JSON object (Singer state), not a list"),
        ("--state", '{"bookmarks": []}', "'bookmarks' must be an object of streams, not a list"),
        ("--state", '{"bookmarks": {"issues": 3}}', "the bookmark of stream 'issues' must be an object"),
        ("--catalog", "{not json", "is not valid JSON"),
        ("--catalog", '{"streams": {}}', "must be a JSON object with a 'streams' list, not an object"),
        ("--catalog", '{"streams": [{"schema": {}}]}', "streams[0] has no 'tap_stream_id' string"),
    ],
)
def test_a_bad_state_or_catalog_file_is_named_in_one_line(capsys, tmp_path, config_file, option, text, expected):
    path = _write(tmp_path, "input.json", text)
    code, lines = _cli(capsys, "--config", config_file, option, path)
    assert code == 1
    assert lines == [lines[0]]
    assert f"tap-zengrc: error: {option} {path}" in lines[0]
    assert expected in lines[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("garbage", "is not valid JSON"), ('["api_url"]', "must hold a JSON object of settings, not a list")],
)
def test_a_bad_config_file_is_named_in_one_line(capsys, tmp_path, text, expected):
    path = _write(tmp_path, "config.json", text)
    code, lines = _cli(capsys, "--config", path)
    assert code == 1
    assert len(lines) == 1
    assert f"tap-zengrc: error: --config {path}" in lines[0]
    assert expected in lines[0]


def test_a_missing_state_file_is_named(capsys, tmp_path, config_file):
    missing = str(tmp_path / "nowhere.json")
    code, lines = _cli(capsys, "--config", config_file, "--state", missing)
    assert code == 1
    assert lines == [lines[0]]
    assert f"--state {missing} does not exist" in lines[0]


def test_a_catalog_selecting_an_unknown_stream_fails_naming_it(capsys, tmp_path, config_file):
    catalog = json.loads(open(catalog_selecting(tmp_path, "issues")).read())  # noqa: SIM115
    catalog["streams"].append({"tap_stream_id": "policies", "schema": {}, "metadata": []})
    path = _write(tmp_path, "catalog.json", json.dumps(catalog))
    code, lines = _cli(capsys, "--config", config_file, "--catalog", path)
    assert code == 1
    assert "selects stream(s) tap-zengrc does not have: policies" in lines[0]


def test_a_catalog_selecting_nothing_warns_and_extracts_nothing(capsys, tmp_path, config_file):
    code, lines = _cli(capsys, "--config", config_file, "--catalog", catalog_selecting(tmp_path))
    assert code == 0
    assert any("selects no stream: nothing will be extracted" in line for line in lines)


def test_no_traceback_reaches_the_operator_for_a_garbage_state(tmp_path, config_file):
    """The same check in a real process, as Meltano runs the tap."""
    state = _write(tmp_path, "state.json", "garbage")
    result = subprocess.run(
        [TAP, "--config", config_file, "--state", state],
        capture_output=True,
        text=True,
        check=False,
        env=clean_environment(),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [result.stderr.strip().splitlines()[-1]]
    assert f"--state {state} is not valid JSON" in result.stderr
