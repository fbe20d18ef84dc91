"""Public sample responses (SOURCES.md) replayed through the tap over real HTTP: what lands, typed, kept.

One run of the whole tap against a local server that answers each endpoint with its sample file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the tap's test helpers live one folder up

from zendesk_fixture_server import FixtureServer, Reply
from zendesk_support import by_key, run_tap, tap_config

SAMPLES = Path(__file__).with_name("samples")
ROUTES = {
    "/api/v2/incremental/tickets/cursor.json": "tickets_cursor_export.json",
    "/api/v2/incremental/users/cursor.json": "users_cursor_export.json",
    "/api/v2/incremental/organizations.json": "organizations_time_export.json",
    "/api/v2/incremental/ticket_metric_events.json": "ticket_metric_events_time_export.json",
    "/api/v2/tags.json": "tags_list.json",
    "/api/v2/groups.json": "groups_zenpy.json",
    "/api/v2/macros.json": "macros_empty_page.json",
    "/api/v2/group_memberships.json": "group_memberships_awkward.json",
    "/api/v2/slas/policies.json": "sla_policies_offset_page.json",
    "/api/v2/channels/voice/phone_numbers.json": "phone_numbers_offset_page.json",
    "/api/v2/satisfaction_ratings.json": "satisfaction_ratings_list.json",
    "/api/v2/ticket_fields.json": "ticket_fields_list.json",
    "/api/v2/tickets/35436/audits.json": "ticket_audits_docs.json",
    "/api/v2/ticket_forms.json": "ticket_forms_nulls.json",
}


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _serve(path: str, _query: dict[str, str]) -> Reply:
    name = ROUTES.get(path)
    if name is None:
        return Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
    return Reply(body=(SAMPLES / name).read_bytes())


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """One run of every stream against the samples."""
    with FixtureServer(_serve) as server:
        run = run_tap(tmp_path_factory.mktemp("samples"), tap_config(server.url, start_date="2000-01-01T00:00:00Z"))
    assert run.returncode == 0, run.log[-3000:]
    return run


def test_every_sampled_stream_lands_every_record(replay):
    for path, name in ROUTES.items():
        records_key = next(key for key, value in sample(name).items() if isinstance(value, list))
        stream = {"phone_numbers": "talk_phone_numbers", "audits": "ticket_audits"}.get(records_key, records_key)
        assert len(replay.records(stream)) == len(sample(name)[records_key]), (path, stream)


def test_an_empty_page_is_zero_records_and_still_a_complete_read(replay):
    assert replay.records("macros") == []
    assert [m for m in replay.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "macros"]


def test_a_ticket_keeps_its_declared_values_and_custom_field_text(replay):
    (ticket,) = replay.records("tickets")
    assert ticket["id"] == 35436
    assert ticket["custom_fields"] == [{"id": 27642, "value": "745"}, {"id": 27648, "value": "yes"}]  # as sent
    assert ticket["satisfaction_rating"] == {"comment": "Great support!", "id": 1234, "score": "good"}
    assert "fields" not in ticket  # the documented duplicate of custom_fields, dropped as singer-io does
    assert ticket.get("extra_fields") is None


def test_ids_above_two_to_the_32_stay_integers(replay):
    assert sorted(g["id"] for g in replay.records("groups")) == [6164094475034, 6164110417050]


def test_fields_the_schema_lacks_are_kept_with_one_warning(replay):
    (number,) = replay.records("talk_phone_numbers")
    assert number["extra_fields"] == {
        "ivr_id": None, "outbound_enabled": True, "priority": 1, "schedule_id": 1, "sms_group_id": 1, "token": "abc123",
    }  # fmt: skip
    warnings = [
        line for line in replay.lines("WARNING") if "stream talk_phone_numbers: fields not in the schema" in line
    ]
    assert len(warnings) == 1
    assert "ivr_id, outbound_enabled, priority, schedule_id, sms_group_id, token" in warnings[0]
    (field,) = replay.records("ticket_fields")
    assert field["extra_fields"] == {"creator_app_name": None, "creator_user_id": None, "custom_statuses": []}


def test_numbers_as_text_and_boolean_encodings_are_converted(replay):
    memberships = by_key(replay.records("group_memberships"))
    assert memberships[5]["group_id"] == 12  # "12" -> 12
    assert memberships[5]["default"] is True  # "true"
    assert memberships[6]["default"] is False  # 0
    assert memberships[7]["default"] is False  # "0"
    assert memberships[4]["default"] is True


def test_values_that_cannot_be_converted_land_as_null_and_are_kept(replay):
    memberships = by_key(replay.records("group_memberships"))
    assert memberships[6]["user_id"] is None
    assert memberships[6]["extra_fields"] == {"user_id": "thirty-one"}
    assert memberships[7]["created_at"] is None  # an epoch is no date-time text: never guessed
    assert memberships[7]["extra_fields"] == {"created_at": 1242173228}
    drift = [line for line in replay.lines("WARNING") if "stream group_memberships: field" in line]
    assert len(drift) == 2  # once per field, not per record
    assert any("field user_id sent as string, schema says integer; kept in extra_fields" in line for line in drift)


def test_a_string_where_an_object_is_declared_is_kept_aside(replay):
    (audit,) = replay.records("ticket_audits")
    assert audit["via"] is None
    assert audit["extra_fields"] == {"via": "web"}
    (comment,) = replay.records("ticket_comments")  # the audit's one Comment event
    assert comment["id"] == 2127301143
    assert comment["body"] == "This is a new private comment"
    assert comment["extra_fields"] == {"via": "web"}


def test_nulls_missing_keys_and_non_ascii_pass_unchanged(replay):
    (form,) = replay.records("ticket_forms")
    assert form["agent_conditions"] is None
    assert "end_user_conditions" not in form
    assert form["display_name"] == sample("ticket_forms_nulls.json")["ticket_forms"][0]["display_name"]
    assert "スノーボード" in form["display_name"]
    ratings = by_key(replay.records("satisfaction_ratings"))
    assert "comment" not in ratings[35436]
    assert ratings[35437]["comment"] == "Très lent, désolé"
    assert {t["name"] for t in replay.records("tags")} == {"Triage", "Goodwill", "zahlung_überfällig"}


def test_time_exports_and_their_optional_keys(replay):
    events = by_key(replay.records("ticket_metric_events"))
    assert events[926232957921]["status"] == {"calendar": 2391, "business": 737}
    assert events[926232957921]["sla"] is None
    assert "status" not in events[926232157301]
    (org,) = replay.records("organizations")
    assert org["organization_fields"] == {"org_decimal": 5.2, "org_dropdown": "option_1"}
    (user,) = replay.records("users")
    assert user["user_fields"]["user_decimal"] == 5.1
    assert user["photo"]["size"] == 166144


def test_offset_shaped_pages_are_read_as_one_page(replay):
    (policy,) = replay.records("sla_policies")
    assert policy["policy_metrics"] == [
        {"priority": "normal", "metric": "first_reply_time", "target": 30, "business_hours": False}
    ]
