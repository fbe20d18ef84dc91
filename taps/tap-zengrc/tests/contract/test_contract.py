"""Public sample shapes (``SOURCES.md``) replayed through the tap over real HTTP: what lands, and what it says.

One tap run serves every fixture at once (the tap's start-up dominates a run's time); each test then checks
one fact about what landed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from landing_tap_kit.stub_servers import Page, StubServer

from tests.support import TapRun, run_tap, tap_config

FIXTURES = Path(__file__).with_name("fixtures")
SERVED = {
    "/api/v2/requests": "requests_page1.json",
    "/api/v2/requests?page=2": "requests_page2.json",
    "/api/v2/audits": "audits.json",
    "/api/v2/issues": "issues.json",
    "/api/v2/vendors": "vendors.json",
    "/api/v2/risks": "risks.json",
    "/api/v2/programs": "programs_page1.json",
    "/api/v2/programs?page=2": "programs_page2.json",
    "/api/v2/people": "people.json",
    "/api/v2/assessments": "assessments.json",
    "/api/v2/objectives": "objectives.json",
    "/api/v2/systems": "systems.json",
}


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[TapRun, list[str]]:
    pages = {path: Page((FIXTURES / name).read_bytes()) for path, name in SERVED.items()}
    pages["/api/v2/controls"] = Page((FIXTURES / "controls_forbidden.json").read_bytes(), status=403)
    with StubServer(pages) as server:
        run = run_tap(tmp_path_factory.mktemp("contract"), tap_config(server.url))
        return run, list(server.requests)


@pytest.fixture(scope="module")
def run(replay: tuple[TapRun, list[str]]) -> TapRun:
    assert replay[0].returncode == 0, replay[0].log
    return replay[0]


def _by_id(run: TapRun, stream: str) -> dict[int, dict]:
    return {record["id"]: record for record in run.records(stream)}


def test_a_full_request_lands_with_its_nested_objects_and_text_intact(run):
    request = _by_id(run, "requests")[412]
    assert request["title"] == "Überprüfung der Zugriffsrechte \u2013 Q3 \u2713"
    assert request["requesters"] == [{"id": 12, "name": "山田 太郎", "type": "Person"}]
    assert request["reviewers"][0]["reviewer"]["name"] == "山田 太郎"
    assert request["custom_attributes"]["70"] == {"id": 70, "title": "External Audit", "value": True}
    assert request["mapped"]["programs"] == [{"id": 4, "title": "SOX", "type": "Program"}]
    assert request["updated_at"] == "2023-10-02T09:14:55+00:00"
    assert request["extra_fields"] is None


def test_paging_follows_the_relative_next_link_and_stops_on_null(run, replay):
    assert sorted(_by_id(run, "requests")) == [412, 413]
    assert [path for path in replay[1] if path.startswith("/api/v2/requests")] == [
        "/api/v2/requests",
        "/api/v2/requests?page=2",
    ]


def test_missing_optional_keys_and_a_null_object_land_as_absent_or_null(run):
    request = _by_id(run, "requests")[413]
    assert request["audit"] is None
    assert "due_date" not in request
    assert request["extra_fields"] is None


def test_a_boolean_sent_as_the_string_false_lands_as_false(run):
    assert _by_id(run, "requests")[413]["notify_assignee"] is False


def test_mixed_boolean_encodings_convert_and_an_unconvertible_one_is_kept_aside(run):
    audits = _by_id(run, "audits")
    assert (audits[31]["sync_external_attachments"], audits[31]["sync_external_comments"]) == (True, False)
    assert (audits[32]["sync_external_attachments"], audits[32]["sync_external_comments"]) == (True, False)
    assert audits[33]["sync_external_attachments"] is None
    assert audits[33]["extra_fields"] == {"sync_external_attachments": "maybe"}
    assert run.log.count("stream audits: field sync_external_attachments sent as string, schema says boolean") == 1


def test_links_without_a_next_key_end_the_stream(run, replay):
    assert [path for path in replay[1] if path.startswith("/api/v2/audits")] == ["/api/v2/audits"]
    assert len(run.records("audits")) == 3


def test_an_id_sent_as_a_string_lands_as_an_integer(run):
    assert 88 in _by_id(run, "issues")


def test_tags_sent_as_one_string_are_nulled_and_kept_in_extra_fields(run):
    issue = _by_id(run, "issues")[88]
    assert issue["tags"] is None
    assert issue["extra_fields"] == {"tags": "SOX, Q3"}
    assert _by_id(run, "issues")[89]["tags"] == ["SOC2"]
    assert run.log.count("stream issues: field tags sent as string, schema says array; kept in extra_fields") == 1


def test_custom_attribute_values_keep_the_type_they_were_sent_with(run):
    attributes = _by_id(run, "issues")[88]["custom_attributes"]
    assert attributes["142"]["value"] == "3"
    assert attributes["143"]["value"] == 4


def test_a_null_where_an_object_is_declared_lands_as_null(run):
    vendor = _by_id(run, "vendors")[640]
    assert vendor["secondary_contact"] is None
    assert vendor["mapped"]["systems"] == [{"id": 3, "title": "Payroll", "type": "System"}]


def test_risk_score_vectors_stay_nested_json(run):
    risk = _by_id(run, "risks")[57]
    assert risk["risk_vector_score_values"][1] == {"risk_vector": {"id": 2, "title": "Impact"}, "value": 5}
    assert risk["custom_attributes"]["75"]["value"] is False


def test_an_absolute_next_link_is_followed_on_the_configured_host(run, replay):
    assert sorted(_by_id(run, "programs")) == [4, 5]
    assert "/api/v2/programs?page=2" in replay[1]


def test_people_fields_beyond_the_schema_are_kept_in_extra_fields_with_one_warning(run):
    person = _by_id(run, "people")[77]
    assert person["name"] == "Zoë Müller"
    assert person["extra_fields"] == {
        "first_name": "Zoë",
        "last_name": "Müller",
        "title": "GRC Analyst",
        "department": "Security",
        "phone": "+49 30 1234567",
        "is_active": True,
        "last_login_at": "2023-10-01T08:00:00+00:00",
        "time_zone": "Europe/Berlin",
    }
    warning = (
        "stream people: fields not in the schema kept in extra_fields: department, first_name, is_active, "
        "last_login_at, last_name, phone, time_zone, title"
    )
    assert run.log.count(warning) == 1


def test_timestamps_with_any_offset_land_as_the_same_instant_in_utc(run):
    assessment = _by_id(run, "assessments")[1201]
    assert assessment["created_at"] == "2023-07-01T04:00:00+00:00"
    assert assessment["updated_at"] == "2023-10-01T00:00:00+00:00"
    issue = _by_id(run, "issues")[88]
    assert datetime.fromisoformat(issue["created_at"]) == datetime(2023, 5, 5, 15, tzinfo=UTC)


def test_unparseable_dates_are_nulled_and_kept_in_extra_fields(run):
    assessment = _by_id(run, "assessments")[1202]
    assert assessment["created_at"] is None
    assert assessment["start_date"] is None
    assert assessment["extra_fields"] == {"created_at": "not a timestamp", "start_date": "07/01/2023"}
    assert "stream assessments: field created_at sent as string (not a valid date-time)" in run.log


def test_an_empty_next_href_ends_the_stream(run, replay):
    assert [path for path in replay[1] if path.startswith("/api/v2/objectives")] == ["/api/v2/objectives"]
    assert _by_id(run, "objectives")[300]["title"] == "Access is restricted \u2014 حماية الوصول"


def test_an_empty_collection_lands_no_records_and_still_announces_its_version(run):
    assert run.records("systems") == []
    assert [m["type"] for m in run.messages if m.get("stream") == "systems"][-1] == "ACTIVATE_VERSION"


def test_a_forbidden_collection_is_skipped_with_one_warning(run):
    assert run.records("controls") == []
    assert run.log.count("stream controls skipped: HTTP 403 at") == 1
    assert not [m for m in run.messages if m.get("stream") == "controls" and m["type"] == "ACTIVATE_VERSION"]
