"""The Zendesk emulator behaves as Zendesk does where public extractors depend on it.

Each test drives the emulator over real HTTP the way a client would; expectations come from the
vendor behaviour listed in the emulator's docstring (../shared/sources/zendesk.md and Zendesk's
developer docs), and the data from the emulator's own ground truth.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from emulators.core.server import EmulatorServer

PUBLIC = "https://bench.zendesk.com"
PINNED = "2025-03-01T00:00:00Z"


def get(server: EmulatorServer, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
    """GET ``/api/v2/<path>`` as an OAuth client; assert the status; the JSON body."""
    response = requests.get(
        f"{server.url}/api/v2/{path}",
        params=params,
        headers={"Authorization": "Bearer main-oauth-token"},
        timeout=30,
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def follow(server: EmulatorServer, url: str) -> dict[str, Any]:
    """GET an absolute link the emulator returned (with its public host swapped for the server's)."""
    response = requests.get(
        url.replace(PUBLIC, server.url), headers={"Authorization": "Bearer main-oauth-token"}, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(records: list[dict[str, Any]]) -> list[Any]:
    return [r["id"] for r in records]


# -- start_time ---------------------------------------------------------------------------------


def test_decimal_start_time_means_its_whole_seconds(emulator):
    server = emulator("zendesk", seed=1, volume=30)
    whole = get(server, "incremental/tickets/cursor.json", start_time=1577836800)
    decimal = get(server, "incremental/tickets/cursor.json", start_time="1577836800.0")
    assert ids(decimal["tickets"]) == ids(whole["tickets"])
    assert len(decimal["tickets"]) == 30


def test_decimal_start_time_on_a_time_based_export(emulator):
    server = emulator("zendesk", seed=1, volume=30)
    page = get(server, "incremental/organizations.json", start_time="1577836800.5")
    assert sorted(ids(page["organizations"])) == sorted(ids(server.emulator.truth("organizations")["organizations"]))


def test_iso_start_time_on_organizations_is_read_up_to_its_first_non_digit(emulator):
    server = emulator("zendesk", seed=1, volume=30)
    # what Zenpy sends when singer-io's discovery probes the endpoint: the current time as ISO text
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    iso_page = get(server, "incremental/organizations.json", start_time=now)
    year_page = get(server, "incremental/organizations.json", start_time=now[:4])
    assert ids(iso_page["organizations"]) == ids(year_page["organizations"])
    assert iso_page["organizations"]


def test_start_time_without_a_leading_number_is_refused(emulator):
    server = emulator("zendesk", seed=1, volume=3)
    body = get(server, "incremental/tickets/cursor.json", status=400, start_time="yesterday")
    assert "start_time" in body["description"]


# -- clock --------------------------------------------------------------------------------------


def test_clock_follows_real_time_so_a_client_clock_is_not_too_recent(emulator):
    server = emulator("zendesk", seed=1, volume=5)
    assert abs(server.emulator.clock.now - datetime.now(UTC)) < timedelta(minutes=1)
    two_minutes_ago = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp())
    page = get(server, "incremental/tickets/cursor.json", start_time=two_minutes_ago)
    assert page["tickets"] == []
    assert page["end_of_stream"] is True


def test_clock_can_be_pinned_and_still_refuses_a_start_time_under_a_minute_old(emulator):
    server = emulator("zendesk", seed=1, volume=5, now=PINNED)
    assert server.emulator.clock.now == datetime(2025, 3, 1, tzinfo=UTC)
    recent = int(datetime(2025, 2, 28, 23, 59, 30, tzinfo=UTC).timestamp())
    body = get(server, "incremental/tickets/cursor.json", status=400, start_time=recent)
    assert "Too recent start_time" in body["description"]
    get(server, "incremental/organizations.json", status=400, start_time=recent)


def test_ticket_metric_events_accept_a_start_time_of_now(emulator):
    # the docs ask for "the oldest event you're interested in", without the exports' one-minute rule
    server = emulator("zendesk", seed=1, volume=5, now=PINNED)
    page = get(server, "incremental/ticket_metric_events.json", start_time=int(server.emulator.clock.now.timestamp()))
    assert page["ticket_metric_events"] == []
    assert page["end_of_stream"] is True


def test_advance_moves_a_pinned_clock_by_exactly_the_step(emulator):
    server = emulator("zendesk", seed=1, volume=5, now=PINNED)
    server.emulator.advance(seconds=86_400)
    assert server.emulator.clock.now == datetime(2025, 3, 2, tzinfo=UTC)


# -- public links -------------------------------------------------------------------------------


def test_every_link_uses_the_public_base_url(emulator):
    server = emulator("zendesk", seed=1, volume=30, export_page_max=10, public_url=PUBLIC)
    export = get(server, "incremental/tickets/cursor.json", start_time=0)
    assert export["after_url"].startswith(f"{PUBLIC}/api/v2/incremental/tickets/cursor.json?cursor=")
    assert all(t["url"].startswith(f"{PUBLIC}/api/v2/tickets/") for t in export["tickets"])
    orgs = get(server, "incremental/organizations.json", start_time=0)
    assert orgs["next_page"].startswith(f"{PUBLIC}/api/v2/incremental/organizations.json?start_time=")
    cursor_page = get(server, "satisfaction_ratings", **{"page[size]": 2})
    assert cursor_page["links"]["next"].startswith(f"{PUBLIC}/api/v2/satisfaction_ratings?page[after]=")
    offset_page = get(server, "satisfaction_ratings", per_page=2)
    assert offset_page["next_page"] == f"{PUBLIC}/api/v2/satisfaction_ratings?page=2&per_page=2"


def test_following_public_after_urls_reads_the_whole_export(emulator):
    server = emulator("zendesk", seed=1, volume=35, export_page_max=10, public_url=PUBLIC)
    page = get(server, "incremental/tickets/cursor.json", start_time=0)
    seen = ids(page["tickets"])
    while not page["end_of_stream"]:
        page = follow(server, page["after_url"])
        seen += ids(page["tickets"])
    assert sorted(seen) == sorted(ids(server.emulator.truth("tickets")["tickets"]))


def test_links_point_at_the_server_itself_without_a_public_url(emulator):
    server = emulator("zendesk", seed=1, volume=30, export_page_max=10)
    export = get(server, "incremental/tickets/cursor.json", start_time=0)
    assert export["after_url"].startswith(f"{server.url}/api/v2/")


# -- list pagination ----------------------------------------------------------------------------


def test_lists_without_page_size_are_offset_paginated_with_per_page(emulator):
    server = emulator("zendesk", seed=2, volume=40)
    truth = ids(server.emulator.truth("satisfaction_ratings")["satisfaction_ratings"])
    page = get(server, "satisfaction_ratings.json", per_page=3)
    assert set(page) == {"satisfaction_ratings", "next_page", "previous_page", "count"}
    assert page["count"] == len(truth)
    assert page["previous_page"] is None
    seen = ids(page["satisfaction_ratings"])
    pages = 1
    while page["next_page"]:
        page = follow(server, page["next_page"])
        seen += ids(page["satisfaction_ratings"])
        pages += 1
    assert seen == truth
    assert pages == -(-len(truth) // 3)
    assert page["previous_page"].endswith(f"page={pages - 1}&per_page=3")


def test_offset_pages_hold_at_most_100(emulator):
    server = emulator("zendesk", seed=2, volume=480)
    page = get(server, "satisfaction_ratings", per_page=500)
    assert len(page["satisfaction_ratings"]) == 100
    assert page["count"] == 120


def test_offset_pagination_stops_after_10000_records(emulator):
    server = emulator("zendesk", seed=2, volume=5)
    get(server, "groups", status=400, page=101, per_page=100)
    get(server, "groups", page=100, per_page=100)


def test_page_size_switches_a_list_to_cursor_pagination(emulator):
    server = emulator("zendesk", seed=2, volume=40)
    truth = ids(server.emulator.truth("satisfaction_ratings")["satisfaction_ratings"])
    page = get(server, "satisfaction_ratings", **{"page[size]": 4})
    assert "next_page" not in page
    seen = ids(page["satisfaction_ratings"])
    while page["meta"]["has_more"]:
        page = get(server, "satisfaction_ratings", **{"page[size]": 4, "page[after]": page["meta"]["after_cursor"]})
        seen += ids(page["satisfaction_ratings"])
    assert seen == truth


def test_audits_page_by_offset_too(emulator):
    server = emulator("zendesk", seed=2, volume=10)
    ticket = next(t for t in server.emulator.truth("tickets")["tickets"] if len(server.emulator.ticket_audits(t)) > 1)
    audits = server.emulator.ticket_audits(ticket)
    first = get(server, f"tickets/{ticket['id']}/audits.json", per_page=1)
    assert first["count"] == len(audits)
    assert ids(first["audits"]) == [audits[0]["id"]]
    assert first["next_page"].endswith("page=2&per_page=1")


# -- endpoints discovery calls ------------------------------------------------------------------


def test_user_fields_define_every_key_users_carry(emulator):
    server = emulator("zendesk", seed=3, volume=30)
    fields = get(server, "user_fields.json")["user_fields"]
    users = server.emulator.truth("users")["users"]
    assert {f["key"] for f in fields} == {key for u in users for key in u["user_fields"]}
    dropdown = next(f for f in fields if f["type"] == "dropdown")
    options = {o["value"] for o in dropdown["custom_field_options"]}
    assert {u["user_fields"][dropdown["key"]] for u in users} <= options


def test_organization_fields_define_every_key_organizations_carry(emulator):
    server = emulator("zendesk", seed=3, volume=30)
    fields = get(server, "organization_fields", **{"page[size]": 100})["organization_fields"]
    orgs = server.emulator.truth("organizations")["organizations"]
    assert {f["key"] for f in fields} == {key for o in orgs for key in o["organization_fields"]}
    assert {f["type"] for f in fields} <= {"dropdown", "integer"}


def test_field_definitions_are_not_part_of_the_full_truth(emulator):
    server = emulator("zendesk", seed=3, volume=5)
    assert "user_fields" not in server.emulator.truth()
    assert server.emulator.truth("user_fields")["user_fields"]


def test_search_filters_by_type_and_updated_dates(emulator):
    server = emulator("zendesk", seed=4, volume=30)
    users = server.emulator.truth("users")["users"]
    # singer-io's discovery probe: nothing is updated both after now and before 2000
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    empty = get(server, "search.json", query=f"updated>{now} updated<2000-01-02T00:00:00Z type:user")
    assert empty == {"results": [], "next_page": None, "previous_page": None, "count": 0}
    everyone = get(server, "search.json", query="type:user")
    assert everyone["count"] == len(users)
    assert {r["result_type"] for r in everyone["results"]} == {"user"}
    middle = sorted(u["updated_at"] for u in users)[len(users) // 2]
    later = get(server, "search.json", query=f"type:user updated>={middle}")
    assert sorted(ids(later["results"])) == sorted(u["id"] for u in users if u["updated_at"] >= middle)


def test_search_matches_properties_and_words(emulator):
    server = emulator("zendesk", seed=4, volume=30)
    tickets = server.emulator.truth("tickets")["tickets"]
    open_tickets = get(server, "search.json", query="type:ticket status:open")
    assert sorted(ids(open_tickets["results"])) == sorted(t["id"] for t in tickets if t["status"] == "open")
    word = tickets[0]["subject"].split()[0]
    by_word = get(server, "search.json", query=f"type:ticket {word}")
    assert tickets[0]["id"] in ids(by_word["results"])
    excluded = get(server, "search.json", query=f"type:ticket -{word}")
    assert tickets[0]["id"] not in ids(excluded["results"])


def test_some_users_have_a_phone_number_in_e164(emulator):
    server = emulator("zendesk", seed=5, volume=40)
    users = server.emulator.truth("users")["users"]
    phones = [u["phone"] for u in users if u["phone"] is not None]
    assert 0 < len(phones) < len(users)
    assert all(p.startswith("+1") and p[1:].isdigit() and len(p) == 12 for p in phones)
    assert {u["shared_phone_number"] for u in users if u["phone"]} == {False}


def test_search_pages_link_to_the_next_with_the_query_kept(emulator):
    server = emulator("zendesk", seed=4, volume=30)
    users = server.emulator.truth("users")["users"]
    page = get(server, "search.json", query="type:user updated>2020-01-01", per_page=4)
    seen = ids(page["results"])
    while page["next_page"]:
        page = follow(server, page["next_page"])
        seen += ids(page["results"])
    assert sorted(seen) == sorted(u["id"] for u in users)


def test_a_flag_given_as_an_option_is_named_not_a_traceback(capsys: Any) -> None:
    """``--option volume=3`` used to crash create() with a TypeError; it now names the flag to use."""
    from emulators.__main__ import main  # noqa: PLC0415 - the command line under test

    assert main(["serve", "zendesk", "--option", "volume=3"]) == 2
    assert capsys.readouterr().err == "emulators: use --volume instead of --option volume=...\n"
