"""What real accounts do that a fresh emulator does not: collections missing from the plan, runs dying mid-stream."""

from __future__ import annotations

from tests.support import catalog_selecting, tap_config


def _stream_messages(run, stream: str) -> list[dict]:
    return [m for m in run.messages if m.get("stream") == stream]


def test_a_collection_the_plan_lacks_is_skipped_with_one_warning_and_the_run_goes_on(emulator, tap, tmp_path):
    faults = [{"kind": "status", "status": 404, "path": "/people$", "times": None}]
    server = emulator("zengrc", seed=12, volume=4, only="controls,people,systems", faults=faults, forbidden="systems")
    catalog = catalog_selecting(tmp_path, "controls", "people", "systems")
    run = tap(tap_config(server.url), "--catalog", catalog)
    assert run.returncode == 0, run.log
    assert run.log.count("stream people skipped: HTTP 404 at") == 1
    assert run.log.count("stream systems skipped: HTTP 403 at") == 1
    assert "plan or API key does not include it" in run.log
    for skipped in ("people", "systems"):
        assert not [m for m in _stream_messages(run, skipped) if m["type"] in {"RECORD", "ACTIVATE_VERSION"}]
    assert len(run.records("controls")) == 4
    assert [m["type"] for m in _stream_messages(run, "controls")][-1] == "ACTIVATE_VERSION"


def test_a_403_after_the_first_page_is_an_error_not_a_skip(emulator, tap, tmp_path):
    rule = {"kind": "status", "status": 403, "path": "/controls$", "query": "page=2", "times": None}
    server = emulator("zengrc", seed=12, volume=6, only="controls", faults=[rule])
    run = tap(tap_config(server.url, page_size=3), "--catalog", catalog_selecting(tmp_path, "controls"))
    assert run.returncode == 1
    assert "may no longer read" in run.error_lines()[-1]
    assert "skipped" not in run.log
    assert not [m for m in _stream_messages(run, "controls") if m["type"] == "ACTIVATE_VERSION"]


def test_every_selected_stream_missing_is_an_error_naming_api_url(emulator, tap, tmp_path):
    server = emulator("zengrc", seed=12, volume=2, only="controls")
    config = tap_config(server.url)
    config["api_url"] = f"{server.url}/not-the-api/v2"
    run = tap(config, "--catalog", catalog_selecting(tmp_path, "controls", "issues"))
    assert run.returncode == 1
    final = run.error_lines()[-1]
    assert "every selected stream answered HTTP 403/404" in final
    assert "`api_url`" in final


def test_a_401_is_still_fatal_and_never_a_skip(emulator, tap, tmp_path):
    server = emulator("zengrc", seed=12, volume=2, only="controls")
    run = tap(tap_config(server.url, password="wrong"), "--catalog", catalog_selecting(tmp_path, "controls", "issues"))
    assert run.returncode == 1
    assert "HTTP 401" in run.error_lines()[-1]
    assert "skipped" not in run.log


def test_activate_version_is_not_sent_when_a_stream_dies_mid_read(emulator, tap, tmp_path):
    """Issue 10 §4: a loader retires every row missing from an announced version, so a partial read announces none."""
    rule = {"kind": "status", "status": 503, "path": "/risks$", "query": "page=2", "times": None}
    server = emulator("zengrc", seed=7, volume=9, only="risks", faults=[rule])
    run = tap(tap_config(server.url, page_size=4, max_retries=1), "--catalog", catalog_selecting(tmp_path, "risks"))
    assert run.returncode == 1
    risk_messages = _stream_messages(run, "risks")
    assert [r["id"] for r in run.records("risks")] == [1, 2, 3, 4]
    assert "ACTIVATE_VERSION" not in [m["type"] for m in risk_messages]
