"""Bad files and settings: one line naming the file or stream, a non-zero exit, no traceback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from landing_tap_adaptive.tap import TapAdaptive
from landing_tap_kit.testing import invoke_cli

from tests.conftest import error_lines, run_cli, run_tap, tap_config

ROOT = Path(__file__).resolve().parents[3]
MELTANO = str(ROOT / ".venv" / "bin" / "meltano")


def _cli(tmp_path, caplog, config, *args):
    """The tap's CLI in this process, ended as Python's top level ends it; (exit code, WARNING+ log lines)."""
    caplog.set_level(logging.INFO)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code = invoke_cli(TapAdaptive, ["--config", str(path), *args])
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in problems if r.exc_info], "no traceback at the default log level"
    return code, [r.getMessage() for r in problems], None


def test_a_garbage_state_file_fails_in_one_line_naming_it(adaptive, tmp_path):
    state = tmp_path / "state.json"
    state.write_text("not json at all")
    result = run_cli(tap_config(adaptive), tmp_path, "--state", str(state))
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"--state {state} is not valid JSON" in line
    assert "line 1 column 1" in line
    assert "Traceback" not in result.stderr
    assert adaptive.emulator.calls() == []  # nothing was extracted with a state it could not read


@pytest.mark.parametrize(
    ("option", "content", "expected"),
    [
        ("--state", "[1, 2]", "must hold a JSON object (Singer state), not a list"),
        ("--state", '{"bookmarks": {"export_users": 5}}', "the bookmark of stream 'export_users' must be an object"),
        ("--catalog", "{oops", "is not valid JSON"),
        ("--catalog", '{"streams": 3}', "must be a JSON object with a 'streams' list"),
        ("--catalog", '{"streams": [{"stream": "x"}]}', "streams[0] has no 'tap_stream_id'"),
        ("--config", "\ufeff{}", "is not valid JSON"),
        ("--config", '"just a string"', "must hold a JSON object of settings, not a string"),
    ],
)
def test_wrong_shaped_files_fail_in_one_line_naming_file_and_problem(
    adaptive, tmp_path, caplog, option, content, expected
):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    code, lines, _ = _cli(tmp_path, caplog, tap_config(adaptive), option, str(bad))
    assert code == 1
    (line,) = lines
    assert line.startswith(f"tap-adaptive: error: {option} {bad}")
    assert expected in line


def test_a_catalog_selecting_an_unknown_stream_fails_naming_it(adaptive, tmp_path, caplog):
    catalog = TapAdaptive(config=tap_config(adaptive)).catalog_dict
    ghost = json.loads(json.dumps(catalog["streams"][0]))
    ghost["tap_stream_id"] = ghost["stream"] = "export_budgets"
    catalog["streams"].append(ghost)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    code, lines, _ = _cli(tmp_path, caplog, tap_config(adaptive), "--catalog", str(path))
    assert code == 1
    (line,) = [m for m in lines if "tap-adaptive: error:" in m]
    assert "export_budgets" in line
    assert adaptive.emulator.calls() == []


def test_a_catalog_selecting_nothing_warns_and_extracts_nothing(adaptive, tmp_path, caplog):
    catalog = TapAdaptive(config=tap_config(adaptive)).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            metadata["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    code, lines, _ = _cli(tmp_path, caplog, tap_config(adaptive), "--catalog", str(path))
    assert code == 0
    assert any("selects no stream" in m for m in lines)
    assert adaptive.emulator.calls() == []


@pytest.mark.parametrize("value", ["2.5", 2.5, 2, "0"])
def test_numeric_settings_accept_numbers_and_numeric_text(adaptive, value):
    config = tap_config(
        adaptive, retry_base_seconds=value, max_retry_seconds=value, max_retries="1", request_timeout="30"
    )
    run = run_tap(config, select={"export_groups"})
    assert run.records["export_groups"]


def test_a_non_numeric_setting_is_refused_in_one_line_naming_it(adaptive, tmp_path, caplog):
    code, lines, _ = _cli(tmp_path, caplog, tap_config(adaptive, retry_base_seconds="soon"))
    assert code == 1
    (line,) = lines
    assert line.startswith("tap-adaptive: error: config:")
    assert "'soon'" in line
    assert "retry_base_seconds" in line
    assert adaptive.emulator.calls() == []


def test_a_missing_password_is_refused_in_one_line_without_secrets(adaptive, tmp_path, caplog):
    config = tap_config(adaptive)
    del config["password"]
    code, lines, _ = _cli(tmp_path, caplog, config)
    assert code == 1
    (line,) = lines
    assert "'password' is a required property" in line


def test_meltano_invoke_runs_the_tap_with_a_fractional_setting(adaptive):
    """Through Meltano's own config resolution: `kind: decimal` would crash Meltano itself (see the yml)."""
    env = {
        **os.environ,
        "TAP_ADAPTIVE_API_URL": f"{adaptive.url}/api/v38",
        "TAP_ADAPTIVE_RETRY_BASE_SECONDS": "2.5",
        "TAP_ADAPTIVE_MAX_RETRY_SECONDS": "120.5",
        "TAP_ADAPTIVE__SELECT": '["export_groups.*"]',
    }
    result = subprocess.run(
        [MELTANO, "invoke", "tap-adaptive"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    records = [json.loads(line) for line in result.stdout.splitlines() if '"type":"RECORD"' in line]
    assert len(records) == len(adaptive.emulator.truth()["exportGroups"])
