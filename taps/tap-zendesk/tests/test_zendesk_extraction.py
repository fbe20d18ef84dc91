"""What tap-zendesk extracts: every stream equals the emulator's truth, on the right endpoint, incrementally."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs

from zendesk_support import by_key, run_tap, tap_config

from emulators.core import FaultRule

ALL_STREAMS = {
    "tickets", "users", "organizations", "groups", "group_memberships", "macros", "tags", "ticket_fields",
    "ticket_forms", "ticket_audits", "ticket_comments", "ticket_metrics", "ticket_metric_events",
    "satisfaction_ratings", "sla_policies", "talk_phone_numbers",
}  # fmt: skip
KEYS = {"tags": "name"}


#: A top-level date-time as Zendesk writes it (second precision, ``Z``).
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def expected(records: list[dict]) -> list[dict]:
    """The emulator's records as the tap emits them.

    Tickets' duplicate ``fields`` dropped (as singer-io); top-level date-times in the one UTC spelling
    every tap of the project emits (``+00:00``, the same instant as Zendesk's ``Z``).
    """
    return [
        {
            k: (v[:-1] + "+00:00" if isinstance(v, str) and ZULU.match(v) else v)
            for k, v in record.items()
            if k != "fields"
        }
        for record in records
    ]


def _requests(server, fragment: str) -> list[dict]:
    return [r for r in server.emulator.requests if fragment in r["path"]]


def test_every_stream_lands_the_accounts_truth(emulator, tmp_path):
    server = emulator("zendesk", seed=3, volume=40)
    server.emulator.advance(updates=4, creates=3, deletes=3)  # soft-deleted tickets/users/orgs exist
    run = run_tap(tmp_path, tap_config(server.url))
    assert run.returncode == 0, run.log[-2000:]
    assert run.streams() == ALL_STREAMS
    for stream, truth in server.emulator.truth().items():
        key = KEYS.get(stream, "id")
        assert by_key(run.records(stream), key) == by_key(expected(truth), key), stream


def test_deleted_records_arrive_with_their_tombstone(emulator, tmp_path):
    server = emulator("zendesk", seed=4, volume=30)
    change = server.emulator.advance(updates=0, creates=0, deletes=3)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "users", "organizations"})
    tickets, users = by_key(run.records("tickets")), by_key(run.records("users"))
    orgs = by_key(run.records("organizations"))
    assert {tickets[k]["status"] for k in change.of("tickets").deleted} == {"deleted"}
    assert {users[k]["active"] for k in change.of("users").deleted} == {False}
    assert all(orgs[k]["deleted_at"] for k in change.of("organizations").deleted)


def test_custom_fields_come_through(emulator, tmp_path):
    server = emulator("zendesk", seed=6, volume=10)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "users", "organizations", "ticket_fields"})
    truth = server.emulator.truth()
    field_ids = {f["id"] for f in run.records("ticket_fields")}
    for ticket in run.records("tickets"):
        assert {entry["id"] for entry in ticket["custom_fields"]} == field_ids
        assert "fields" not in ticket  # singer-io drops the duplicate
    assert {u["id"]: u["user_fields"] for u in run.records("users")} == {
        u["id"]: u["user_fields"] for u in truth["users"]
    }
    assert {o["id"]: o["organization_fields"] for o in run.records("organizations")} == {
        o["id"]: o["organization_fields"] for o in truth["organizations"]
    }


def test_deselected_properties_are_not_emitted(emulator, tmp_path):
    server = emulator("zendesk", seed=6, volume=5)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets"}, deselect={"tickets": ["description", "via"]})
    assert run.records("tickets")
    for ticket in run.records("tickets"):
        assert "description" not in ticket
        assert "via" not in ticket
        assert "subject" in ticket


def test_ticket_export_follows_cursors_until_end_of_stream(emulator, tmp_path):
    server = emulator("zendesk", seed=7, volume=23, export_page_max=5)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets"})
    assert len(run.records("tickets")) == 23
    pages = [parse_qs(r["query"]) for r in _requests(server, "/incremental/tickets/cursor")]
    assert len(pages) == math.ceil(23 / 5)
    assert "start_time" in pages[0]
    assert all("cursor" in page and "start_time" not in page for page in pages[1:])
    assert {page["per_page"][0] for page in pages} == {"1000"}


def test_list_endpoints_use_cursor_pagination(emulator, tmp_path):
    server = emulator("zendesk", seed=8, volume=10)
    run = run_tap(tmp_path, tap_config(server.url, page_size=3), select={"tags"})
    assert len(run.records("tags")) == len(server.emulator.truth("tags")["tags"])
    pages = [parse_qs(r["query"]) for r in _requests(server, "/tags")]
    assert len(pages) == math.ceil(len(run.records("tags")) / 3)
    assert all(page["page[size]"] == ["3"] for page in pages)
    assert all("page[after]" in page for page in pages[1:])


def test_ticket_metrics_are_side_loaded_without_extra_requests(emulator, tmp_path):
    server = emulator("zendesk", seed=9, volume=15)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "ticket_metrics"})
    truth = server.emulator.truth("ticket_metrics")["ticket_metrics"]
    assert by_key(run.records("ticket_metrics")) == by_key(expected(truth))
    paths = {r["path"] for r in server.emulator.requests}
    assert paths == {"/api/v2/incremental/tickets/cursor.json"}
    assert all("include=metric_sets" in r["query"] for r in server.emulator.requests)


def test_tickets_alone_do_not_ask_for_side_loads(emulator, tmp_path):
    server = emulator("zendesk", seed=9, volume=5)
    run_tap(tmp_path, tap_config(server.url), select={"tickets"})
    assert all("include" not in r["query"] for r in server.emulator.requests)


def test_audits_are_fetched_per_live_ticket_and_comments_come_from_them(emulator, tmp_path):
    server = emulator("zendesk", seed=10, volume=12)
    server.emulator.advance(updates=2, creates=0, deletes=2)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "ticket_audits", "ticket_comments"})
    truth = server.emulator.truth()
    live = [t["id"] for t in truth["tickets"] if t["status"] != "deleted"]
    assert sorted(int(r["path"].split("/")[4]) for r in _requests(server, "/audits")) == sorted(live)
    assert by_key(run.records("ticket_audits")) == by_key(expected(truth["ticket_audits"]))
    assert by_key(run.records("ticket_comments")) == by_key(expected(truth["ticket_comments"]))


def test_a_ticket_gone_before_its_audits_is_skipped(emulator, tmp_path):
    server = emulator("zendesk", seed=11, volume=6)
    gone = server.emulator.truth("tickets")["tickets"][2]["id"]
    server.emulator.faults.replace([_rule(kind="status", status=404, path=f"/tickets/{gone}/audits", times=None)])
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "ticket_audits"})
    assert run.returncode == 0, run.log[-2000:]
    assert {a["ticket_id"] for a in run.records("ticket_audits")} == {
        t["id"] for t in server.emulator.truth("tickets")["tickets"] if t["id"] != gone
    }


def test_second_run_reads_only_what_changed_since_the_bookmark(emulator, tmp_path):
    server = emulator("zendesk", seed=12, volume=30)
    first = run_tap(tmp_path, tap_config(server.url))
    change = server.emulator.advance(updates=3, creates=2, deletes=2)
    second = run_tap(tmp_path, tap_config(server.url), state=first.last_state())
    assert second.returncode == 0, second.log[-2000:]
    # what changed, plus the record(s) sitting exactly on the bookmark (start_time is inclusive)
    bookmarks = first.last_state()["bookmarks"]
    for stream, key in (("tickets", "generated_timestamp"), ("users", "updated_at")):
        changed = change.of(stream)
        on_bookmark = {r["id"] for r in first.records(stream) if r[key] == bookmarks[stream]["replication_key_value"]}
        read = {r["id"] for r in second.records(stream)}
        assert (
            set(changed.updated + changed.created + changed.deleted)
            <= read
            <= set(changed.updated + changed.created + changed.deleted) | on_bookmark
        ), stream
    # the union of both runs, upserted, is the account now
    for stream in ("tickets", "users", "organizations", "ticket_metric_events", "groups", "satisfaction_ratings"):
        landed = by_key(first.records(stream)) | by_key(second.records(stream))
        assert landed == by_key(expected(server.emulator.truth(stream)[stream])), stream


def test_a_run_dying_mid_export_resumes_from_its_last_state(emulator, tmp_path):
    server = emulator("zendesk", seed=13, volume=1500)
    # the second export page fails for good; state is written after every 1000-record page
    server.emulator.faults.replace([_rule(kind="status", status=500, query="cursor=", times=None)])
    broken = run_tap(tmp_path, tap_config(server.url, max_retry_seconds=0.2), select={"tickets"})
    assert broken.returncode != 0
    state = broken.last_state()
    bookmark = state["bookmarks"]["tickets"]["replication_key_value"]
    assert len(broken.records("tickets")) == 1000
    assert bookmark == max(t["generated_timestamp"] for t in broken.records("tickets"))
    server.emulator.faults.replace([])
    resumed = run_tap(tmp_path, tap_config(server.url), state=state, select={"tickets"})
    assert resumed.returncode == 0
    assert min(t["generated_timestamp"] for t in resumed.records("tickets")) == bookmark
    assert len(resumed.records("tickets")) < 600  # one page again, not the whole export
    landed = by_key(broken.records("tickets")) | by_key(resumed.records("tickets"))
    assert landed == by_key(expected(server.emulator.truth("tickets")["tickets"]))


def test_plan_gated_streams_are_skipped_with_one_warning_each(emulator, tmp_path):
    gated = ["sla_policies", "talk_phone_numbers", "satisfaction_ratings"]
    server = emulator("zendesk", seed=14, volume=8, gated=gated)
    run = run_tap(tmp_path, tap_config(server.url))
    assert run.returncode == 0, run.log[-2000:]
    assert run.streams() == ALL_STREAMS - set(gated)
    for stream in gated:
        assert (
            len([line for line in run.lines("WARNING") if f"stream {stream}: skipped" in line and "plan" in line]) == 1
        )


def test_oauth_access_token_is_sent_as_bearer(emulator, tmp_path):
    server = emulator("zendesk", seed=15, volume=5)
    config = tap_config(server.url, email=None, api_token=None, access_token="main-oauth-token")
    run = run_tap(tmp_path, config, select={"groups"})
    assert run.returncode == 0, run.log[-2000:]
    assert {r["headers"]["Authorization"] for r in server.emulator.requests} == {"Bearer main-oauth-token"}


def test_api_token_is_sent_as_basic_email_slash_token(emulator, tmp_path):
    server = emulator("zendesk", seed=15, volume=5)
    run = run_tap(tmp_path, tap_config(server.url), select={"groups"})
    assert run.returncode == 0
    assert {r["headers"]["Authorization"][:6] for r in server.emulator.requests} == {"Basic "}


def _rule(**fields):
    return FaultRule.from_dict(fields)


def test_each_stream_sends_its_schema_once_however_many_tickets_its_children_follow(emulator, tmp_path):
    """The SDK wrote a child stream's SCHEMA at every parent record: 2.6 identical messages per ticket."""
    server = emulator("zendesk", seed=10, volume=30)
    run = run_tap(tmp_path, tap_config(server.url), select={"tickets", "ticket_audits", "ticket_comments"})
    assert run.returncode == 0, run.lines("ERROR")
    schemas = [m["stream"] for m in run.messages if m["type"] == "SCHEMA"]
    assert sorted(schemas) == ["ticket_audits", "ticket_comments", "tickets"]
    audited_tickets = {r["ticket_id"] for r in run.records("ticket_audits")}
    assert len(audited_tickets) > 20, "children of many tickets were read"
    assert schemas.index("tickets") < schemas.index("ticket_audits") < schemas.index("ticket_comments")
    audit_messages = [m["type"] for m in run.messages if m.get("stream") == "ticket_audits"]
    assert audit_messages.index("SCHEMA") < audit_messages.index("RECORD")
