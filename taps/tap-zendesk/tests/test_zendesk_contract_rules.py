"""The shared tap contract (issues 10 and 11): deadlines, retry budget, cycles, bad files, network, plans, deletions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from zendesk_fixture_server import FixtureServer, ForwardProxy, Reply, self_signed_tls
from zendesk_support import by_key, run_tap, tap_config

from emulators.core import FaultRule

#: CA-bundle variables of this machine: removed when a test needs "no CA configured".
NO_CA = {"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None, "SSL_CERT_FILE": None}
GROUP = {"id": 1, "name": "Support", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}


def _one_error(run) -> str:
    assert run.returncode != 0, run.log[-2000:]
    errors = run.lines("ERROR")
    assert len(errors) == 1, run.log[-3000:]
    assert "Traceback" not in run.log
    return errors[0]


def _groups_only(path: str, _query: dict[str, str]) -> Reply:
    if path.endswith("/groups.json"):
        return Reply(body={"groups": [GROUP], "meta": {"has_more": False}, "links": {"next": None}})
    return Reply(404, {"error": "RecordNotFound"})


def activations(run, stream: str) -> list[dict]:
    return [m for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]


# -- deadlines and the retry budget ---------------------------------------------------------------


def test_a_trickling_body_fails_at_request_timeout_and_the_stream_gives_up_in_one_line(tmp_path):
    def trickle(_path: str, _query: dict[str, str]) -> Reply:
        return Reply(body={"groups": [GROUP] * 50}, trickle=0.2)  # ~4 kB: minutes at this pace

    with FixtureServer(trickle) as server:
        config = tap_config(server.url, request_timeout=1, max_retry_seconds=2)
        run = run_tap(tmp_path, config, select={"groups"})
    line = _one_error(run)
    assert "tap-zendesk: error: gave up on" in line
    assert "/api/v2/groups.json" in line
    assert "max_retry_seconds=2" in line
    assert "request_timeout=1 s" in line  # the cause: the wall-clock deadline, not a socket timeout
    assert 2 <= len(server.requests) <= 4  # retried, then stopped by the budget


def test_a_server_that_never_answers_is_retried_then_given_up_within_the_budget(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    server.emulator.faults.replace(
        [FaultRule.from_dict({"kind": "slow", "delay": 4, "path": "/groups", "times": None})]
    )
    run = run_tap(tmp_path, tap_config(server.url, request_timeout=1, max_retry_seconds=2), select={"groups"})
    line = _one_error(run)
    assert "gave up on" in line
    assert "attempts" in line
    assert "max_retry_seconds=2" in line


def test_a_retry_after_longer_than_the_budget_gives_up_at_once(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    rule = {"kind": "status", "status": 429, "retry_after": 120, "path": "/groups", "times": None}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=5), select={"groups"})
    line = _one_error(run)
    assert "gave up on" in line
    assert "after 1 attempts" in line
    assert "429" in line
    assert "Retrying" not in run.log  # never waited less than the server asked


def test_a_retry_after_http_date_is_waited_until_that_moment(tmp_path):
    """RFC 9110's other form: a date, not seconds. The retry must not come before it."""
    answered: list[datetime] = []

    def limited_once(path: str, query: dict[str, str]) -> Reply:
        answered.append(datetime.now(UTC))
        if len(answered) == 1:
            # Whole seconds only (an HTTP-date has no fractions): 2 s ahead is at least 1 s of waiting.
            until = answered[0].replace(microsecond=0) + timedelta(seconds=2)
            return Reply(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": format_datetime(until, usegmt=True)})
        return _groups_only(path, query)

    with FixtureServer(limited_once) as server:
        run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=10), select={"groups"})
    assert run.returncode == 0, run.log[-2000:]
    assert [group["id"] for group in run.records("groups")] == [GROUP["id"]]
    assert len(answered) == 2
    assert answered[1] >= answered[0].replace(microsecond=0) + timedelta(seconds=2)


# -- pagination cycles ----------------------------------------------------------------------------


def test_a_list_that_pages_back_to_its_first_page_fails_naming_the_stream_and_token(tmp_path):
    def two_page_loop(_path: str, query: dict[str, str]) -> Reply:
        after = "b" if query.get("page[after]") != "b" else "a"
        page = {"groups": [GROUP], "meta": {"has_more": True, "after_cursor": after}}
        page["links"] = {
            "next": f"https://acme.zendesk.com/api/v2/groups.json?page%5Bafter%5D={after}&page%5Bsize%5D=100"
        }
        return Reply(body=page)

    with FixtureServer(two_page_loop) as server:
        run = run_tap(tmp_path, tap_config(server.url), select={"groups"})
    line = _one_error(run)
    assert "stream groups: pagination cycle" in line
    assert "page%5Bafter%5D=b" in line
    assert len(server.requests) == 3  # page 1, page b, then the repeat of b's link is refused


def test_a_ticket_export_whose_cursor_returns_fails_naming_the_cursor(tmp_path):
    def cursor_loop(_path: str, query: dict[str, str]) -> Reply:
        after = {"c1": "c2", "c2": "c1"}.get(query.get("cursor", ""), "c1")
        ticket = {"id": len(server.requests), "generated_timestamp": 1_700_000_000}
        return Reply(body={"tickets": [ticket], "after_cursor": after, "end_of_stream": False})

    with FixtureServer(cursor_loop) as server:
        run = run_tap(tmp_path, tap_config(server.url), select={"tickets"})
    line = _one_error(run)
    assert "stream tickets: pagination cycle: cursor c1" in line


def test_a_time_export_stuck_on_one_second_fails_with_the_reason(tmp_path):
    """More items share one second than a page holds: Zendesk hands back the same start_time."""
    stuck = 1_700_000_000

    def same_second(_path: str, query: dict[str, str]) -> Reply:
        orgs = [{"id": n, "updated_at": "2023-11-14T22:13:20Z"} for n in range(3)]
        return Reply(body={"organizations": orgs, "count": 3, "end_time": stuck, "end_of_stream": False})

    with FixtureServer(same_second) as server:
        run = run_tap(tmp_path, tap_config(server.url, start_date="2023-11-14T22:13:20Z"), select={"organizations"})
    line = _one_error(run)
    assert f"stream organizations: pagination cycle: start_time {stuck}" in line
    assert "share that second" in line
    assert len(server.requests) == 1


# -- plan-gated endpoints, deletions --------------------------------------------------------------


def test_a_404_on_a_plan_gated_endpoint_skips_it_and_tickets_and_users_still_land(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=10)
    rule = {"kind": "status", "status": 404, "path": "/channels/voice/phone_numbers", "times": None}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    run = run_tap(tmp_path, tap_config(server.url))
    assert run.returncode == 0, run.log[-2000:]
    warnings = [line for line in run.lines("WARNING") if "stream talk_phone_numbers: skipped" in line]
    assert len(warnings) == 1
    assert "404" in warnings[0]
    truth = server.emulator.truth()
    assert by_key(run.records("tickets")).keys() == {t["id"] for t in truth["tickets"]}
    assert by_key(run.records("users")).keys() == {u["id"] for u in truth["users"]}
    assert not activations(run, "talk_phone_numbers")


def test_a_list_read_before_that_now_answers_404_is_an_error_not_a_skip(emulator, tmp_path):
    """A permission taken away must not pass as "not on this plan" (issue 10 §4): state remembers the read."""
    server = emulator("zendesk", seed=2, volume=5)
    first = run_tap(tmp_path, tap_config(server.url), select={"talk_phone_numbers"})
    assert first.returncode == 0, first.log[-2000:]
    assert first.last_state()["bookmarks"]["talk_phone_numbers"]["read_before"] is True
    rule = {"kind": "status", "status": 404, "path": "/channels/voice/phone_numbers", "times": None}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    second = run_tap(tmp_path, tap_config(server.url), select={"talk_phone_numbers"}, state=first.last_state())
    line = _one_error(second)
    assert "stream talk_phone_numbers: HTTP 404" in line
    assert "an earlier run read it" in line
    assert not activations(second, "talk_phone_numbers")


def test_a_404_after_the_first_page_is_an_error_not_a_skip(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=12)
    rule = {"kind": "status", "status": 404, "path": "/groups", "skip": 1, "times": None}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    run = run_tap(tmp_path, tap_config(server.url, page_size=2), select={"groups"})
    line = _one_error(run)
    assert "404" in line
    assert "after 1 page(s) of stream groups" in line
    assert not activations(run, "groups")


def test_a_full_table_list_read_completely_ends_with_activate_version(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=12)
    children = {"ticket_audits", "ticket_comments", "ticket_metrics"}
    run = run_tap(tmp_path, tap_config(server.url, page_size=3), select={"tickets", "groups", "tags", *children})
    assert run.returncode == 0, run.log[-2000:]
    assert {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"} == {"groups", "tags"}
    assert all(run.records(child) for child in children)  # they ran, and retired nothing
    for stream in ("groups", "tags"):
        (activation,) = activations(run, stream)
        positions = [i for i, m in enumerate(run.messages) if m.get("stream") == stream and m["type"] == "RECORD"]
        assert run.messages.index(activation) > max(positions)  # after the last record, never before
        assert {m["version"] for m in run.messages if m.get("stream") == stream and m["type"] == "RECORD"} == {
            activation["version"]
        }
    assert not activations(run, "tickets")  # incremental: nothing to retire


def test_a_list_that_dies_mid_read_emits_no_activate_version(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=12)
    rule = {"kind": "status", "status": 503, "path": "/groups", "skip": 1, "times": None}
    server.emulator.faults.replace([FaultRule.from_dict(rule)])
    run = run_tap(tmp_path, tap_config(server.url, page_size=3, max_retry_seconds=1), select={"groups"})
    assert run.returncode != 0
    assert run.records("groups")  # the first page landed...
    assert not activations(run, "groups")  # ...and nothing was retired


def test_activate_version_can_be_switched_off(emulator, tmp_path):
    server = emulator("zendesk", seed=2, volume=5)
    run = run_tap(tmp_path, tap_config(server.url, emit_activate_version_messages=False), select={"groups"})
    assert run.returncode == 0, run.log[-2000:]
    assert run.records("groups")
    assert not activations(run, "groups")


# -- bad input files, selection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "content", "expected"),
    [
        ("--state", "{not json", "is not valid JSON: Expecting property name"),
        ("--state", "[1, 2]", "must hold a JSON object (Singer state), not a list"),
        ("--state", '{"bookmarks": {"tickets": 5}}', "bookmark of stream 'tickets' must be an object"),
        ("--catalog", "", "is not valid JSON: Expecting value: line 1 column 1"),
        ("--catalog", '{"streams": {}}', "must be a JSON object with a 'streams' list"),
        ("--config", "api_token=abc", "is not valid JSON"),
        ("--config", '"just text"', "must hold a JSON object of settings, not a string"),
    ],
)
def test_a_bad_input_file_is_one_line_naming_the_file(tmp_path, option, content, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    config = tmp_path / "good-config.json"
    config.write_text(json.dumps(tap_config("http://127.0.0.1:9")))
    args = ["--config", str(config), option, str(bad)] if option != "--config" else [option, str(bad)]
    import subprocess  # noqa: PLC0415

    from zendesk_support import TAP  # noqa: PLC0415

    result = subprocess.run([TAP, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert f"tap-zendesk: error: {option} {bad}" in errors[0]
    assert expected in errors[0]
    assert "Traceback" not in result.stderr
    assert "abc" not in result.stderr  # a config file's content is never echoed


def test_a_missing_state_file_is_named(tmp_path):
    run = run_tap(tmp_path, tap_config("http://127.0.0.1:9"), "--state", str(tmp_path / "nope.json"))
    assert f"--state {tmp_path / 'nope.json'} does not exist" in _one_error(run)


def test_a_catalog_selecting_an_unknown_stream_is_one_line_naming_it(tmp_path):
    catalog = tmp_path / "catalog.json"
    entry = {"tap_stream_id": "tikcets", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}
    catalog.write_text(json.dumps({"streams": [entry]}))
    run = run_tap(tmp_path, tap_config("http://127.0.0.1:9"), "--catalog", str(catalog))
    line = _one_error(run)
    assert "selects stream(s) tap-zendesk does not have: tikcets" in line


def test_a_catalog_selecting_nothing_warns_once_and_extracts_nothing(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    run = run_tap(tmp_path, tap_config(server.url), select=set())
    assert run.returncode == 0, run.log[-2000:]
    assert len([line for line in run.lines("WARNING") if "selects no stream" in line]) == 1
    assert not run.streams()
    assert not server.emulator.requests


@pytest.mark.parametrize("budget", ["2.5", 2.5, 2])
def test_number_settings_accept_what_meltano_sends(emulator, tmp_path, budget):
    server = emulator("zendesk", seed=1, volume=3)
    config = tap_config(server.url, max_retry_seconds=budget, rate_limit_default_wait="0.5", request_timeout="30")
    run = run_tap(tmp_path, config, select={"groups"})
    assert run.returncode == 0, run.log[-2000:]
    assert run.records("groups")


def test_a_setting_that_is_no_number_is_one_line_naming_it(tmp_path):
    run = run_tap(tmp_path, tap_config("http://127.0.0.1:9", request_timeout="five minutes"))
    assert "'request_timeout' must be a number" in _one_error(run)


# -- network environment --------------------------------------------------------------------------


def test_an_untrusted_certificate_fails_at_once_naming_the_host(tmp_path):
    context, _ca = self_signed_tls(tmp_path)
    with FixtureServer(_groups_only, tls=context) as server:
        run = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=30), select={"groups"}, env=NO_CA)
    line = _one_error(run)
    assert "TLS certificate of 127.0.0.1:" in line
    assert "could not be verified" in line
    assert "REQUESTS_CA_BUNDLE" in line
    assert "SSL_CERT_FILE" in line
    assert "Retrying" not in run.log


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_from_the_environment_is_trusted(tmp_path, variable):
    context, ca = self_signed_tls(tmp_path)
    with FixtureServer(_groups_only, tls=context) as server:
        run = run_tap(tmp_path, tap_config(server.url), select={"groups"}, env={**NO_CA, variable: str(ca)})
    assert run.returncode == 0, run.log[-2000:]
    assert [g["id"] for g in run.records("groups")] == [1]


def test_http_proxy_is_used_and_no_proxy_bypasses_it(emulator, tmp_path):
    server = emulator("zendesk", seed=1, volume=3)
    with ForwardProxy() as proxy:
        through = run_tap(tmp_path, tap_config(server.url), select={"groups"}, env={"HTTP_PROXY": proxy.url})
        relayed = len(proxy.relayed)
        bypass = {"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
        direct = run_tap(tmp_path, tap_config(server.url), select={"groups"}, env=bypass)
    assert through.returncode == 0, through.log[-2000:]
    assert direct.returncode == 0, direct.log[-2000:]
    assert relayed >= 1
    assert all(path.startswith(server.url) for path in proxy.relayed)
    assert len(proxy.relayed) == relayed  # the NO_PROXY run sent nothing through the proxy
    assert through.records("groups") == direct.records("groups")
