"""Emulators at any volume: records generated from the seed on demand, ground truth exact, changes kept.

Issue 13: stored records took ~10 KB each (550k ZenGRC records, 5.8 GB), capping what this box can test.
These tests pin what replaced that: a 10M-record source allocates almost nothing until asked, any page is
served by rank, ``/_emulator/summary`` agrees with what the API serves (count, sorted-key checksum, newest
change) after updates, creations and deletions, and exports sorted by change time stay complete.
"""

from __future__ import annotations

import hashlib
import random
import re
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import requests

from emulators.core.collection import SeededCollection, Shuffle
from emulators.core.server import EmulatorServer
from emulators.xactly.data import XactlyData
from emulators.zendesk import ZendeskEmulator
from emulators.zengrc import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, ZenGRCEmulator, utc

ZENDESK_AUTH = {"Authorization": "Bearer main-oauth-token"}
TEN_MILLION = 10_000_000


def checksum(keys: list[Any]) -> str:
    """The summary's ``key_checksum``, computed the way a warehouse would: sorted keys, one per line."""
    return hashlib.sha256("".join(f"{k}\n" for k in sorted(keys)).encode()).hexdigest()


def allocated_by(build: Callable[[], Any]) -> int:
    """Bytes still allocated after ``build()`` returns (its result kept alive)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept is not None
    return after - before


def zengrc_pages(server: EmulatorServer, collection: str, page_size: int = 50) -> Iterator[dict[str, Any]]:
    url: str | None = f"{server.url}/api/v2/{collection}?page_size={page_size}"
    while url:
        response = requests.get(url, auth=(DEFAULT_KEY_ID, DEFAULT_KEY_SECRET), timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        yield from page["data"]
        following = page["links"]["next"]
        url = server.url + following["href"] if following else None


def admin(server: EmulatorServer, path: str) -> Any:
    response = requests.get(f"{server.url}/_emulator/{path}", timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


# -- core --------------------------------------------------------------------------------------------


def test_shuffle_is_a_permutation_whose_rank_inverts_it():
    for size in (1, 2, 3, 10, 257, 1000):
        order = Shuffle(size, seed=7)
        slots = [order.at(rank) for rank in range(size)]
        assert sorted(slots) == list(range(size))
        assert [order.rank(slot) for slot in slots] == list(range(size))


def test_seeded_collection_addresses_live_records_by_rank_after_deletions():
    def make(slot: int, born: datetime | None) -> dict[str, Any]:
        return {"id": slot, "born": born}

    def touch(record: dict[str, Any], rng: random.Random, when: datetime) -> None:
        record["edited"] = when

    records = SeededCollection("things", make, touch, seed="t", count=60)
    change = records.mutate(random.Random(3), updates=5, creates=4, deletes=11)
    live = sorted(set(range(1, 61)) - set(change.deleted)) + change.created
    assert records.keys() == live
    for rank, key in enumerate(live):
        assert next(records.keys_from(rank)) == key
        assert records.rank_after(key) == rank + 1
    assert all(records.get(key) is None for key in change.deleted)
    assert all(records.get(key)["edited"] for key in change.updated)  # type: ignore[index]
    assert records.summary()["key_checksum"] == checksum(live)


# -- ZenGRC ------------------------------------------------------------------------------------------


def test_ten_million_zengrc_records_cost_no_memory_until_served(emulator):
    held = allocated_by(lambda: ZenGRCEmulator(volume=TEN_MILLION, only="issues"))
    assert held < 1_000_000, f"building 10M records kept {held:,} bytes"  # stored records took ~10 KB each
    server = emulator("zengrc", volume=TEN_MILLION, only="issues")
    response = requests.get(
        f"{server.url}/api/v2/issues?page=20000&page_size=500", auth=(DEFAULT_KEY_ID, DEFAULT_KEY_SECRET), timeout=30
    )
    page = response.json()
    assert [r["id"] for r in page["data"]] == list(range(9_999_501, 10_000_001))
    assert page["links"]["next"] is None


def test_zengrc_summary_is_what_the_api_serves_after_a_change(emulator):
    server = emulator("zengrc", seed=4, volume=300, only="issues")
    change = server.emulator.advance(updates=20, creates=7, deletes=9).of("issues")
    served = list(zengrc_pages(server, "issues"))
    ids = [r["id"] for r in served]
    truth = admin(server, "summary?collection=issues")["issues"]
    assert truth["count"] == len(ids) == 300 - 9 + 7
    assert truth["key_checksum"] == checksum(ids)
    assert not set(change.deleted) & set(ids)
    assert set(change.created) <= set(ids)
    newest = max(utc(r["updated_at"]) for r in served)
    assert datetime.fromisoformat(truth["max_updated"]) == newest == server.emulator.clock.now


def test_same_seed_same_records_and_same_changes():
    first, second = ZenGRCEmulator(seed=9, volume=50), ZenGRCEmulator(seed=9, volume=50)
    assert first.truth() == second.truth()
    first.advance(updates=6, creates=2, deletes=3)
    second.advance(updates=6, creates=2, deletes=3)
    assert first.truth() == second.truth()
    assert first.truth() != ZenGRCEmulator(seed=10, volume=50).truth()


# -- Zendesk -----------------------------------------------------------------------------------------


def test_zendesk_ticket_export_after_changes_is_complete_and_in_change_order(emulator):
    server = emulator("zendesk", seed=2, volume=400, now="2025-03-01T00:00:00Z")
    change = server.emulator.advance(updates=25, creates=9, deletes=6).of("tickets")
    url = f"{server.url}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=37"
    tickets: list[dict[str, Any]] = []
    while True:
        page = requests.get(url, headers=ZENDESK_AUTH, timeout=30).json()
        tickets += page["tickets"]
        if page["end_of_stream"]:
            break
        url = page["after_url"]
    order = [(t["generated_timestamp"], t["id"]) for t in tickets]
    assert order == sorted(order)
    truth = admin(server, "summary?collection=tickets")["tickets"]
    assert truth["count"] == len(tickets) == 400 + 9  # soft-deleted tickets stay listed
    assert truth["key_checksum"] == checksum([t["id"] for t in tickets])
    by_id = {t["id"]: t for t in tickets}
    assert {by_id[k]["status"] for k in change.deleted} == {"deleted"}
    assert all(by_id[k]["generated_timestamp"] > order[0][0] for k in change.updated + change.created)


def test_zendesk_metric_event_export_is_the_truth_in_order(emulator):
    server = emulator("zendesk", seed=3, volume=60, now="2025-03-01T00:00:00Z")
    server.emulator.advance(updates=10, creates=4, deletes=2)
    url = f"{server.url}/api/v2/incremental/ticket_metric_events.json?start_time=0&per_page=25"
    seen: dict[int, dict[str, Any]] = {}
    while True:
        page = requests.get(url, headers=ZENDESK_AUTH, timeout=30).json()
        for event in page["ticket_metric_events"]:
            seen.setdefault(event["id"], event)  # boundary items repeat across pages, as documented
        if page["end_of_stream"]:
            break
        url = page["next_page"]
    assert list(seen.values()) == server.emulator.truth("ticket_metric_events")["ticket_metric_events"]


def test_ten_million_zendesk_tickets_export_from_any_start_time(emulator):
    held = allocated_by(lambda: ZendeskEmulator(volume=TEN_MILLION))
    assert held < 2_000_000, f"building 10M tickets kept {held:,} bytes"
    server = emulator("zendesk", volume=TEN_MILLION, now="2025-03-01T00:00:00Z")
    middle = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp())
    url = f"{server.url}/api/v2/incremental/tickets/cursor.json?start_time={middle}&per_page=1000"
    page = requests.get(url, headers=ZENDESK_AUTH, timeout=60).json()
    stamps = [t["generated_timestamp"] for t in page["tickets"]]
    assert len(stamps) == 1000
    assert stamps == sorted(stamps)
    assert stamps[0] >= middle


# -- Adaptive ----------------------------------------------------------------------------------------


def test_adaptive_streams_a_large_export_that_equals_its_ground_truth(emulator):
    options = {"data_accounts": 300, "levels": 40, "months": 12}  # > 200k cells: the streamed path
    server = emulator("adaptive", seed=2, volume=40, **options)
    call = (
        '<call method="exportData" callerName="test" stream="true">'
        '<credentials login="emulator@example.com" password="emulator-password"/>'
        '<version name="FY24 Plan" isDefault="false"/><format includeCodes="true"/>'
        '<dimensions><dimension name="Department"/></dimensions></call>'
    )
    response = requests.post(f"{server.url}/api/v38", data=call.encode(), timeout=120)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    status = root.find("status")
    output = root.find("output")
    assert status is not None
    assert output is not None
    assert output.text
    periods, rows = server.emulator.export_rows(call)
    assert server.emulator.instance.export_cells(None) > 200_000
    assert int(status.get("rowCountSent", "-1")) == len(rows)
    body = output.text.splitlines()
    assert body[0].split(",")[-len(periods) :] == periods
    assert len(body) == len(rows) + 1
    summary = requests.post(f"{server.url}/_emulator/export_summary", data=call.encode(), timeout=120).json()
    assert summary == server.emulator.export_summary(call)
    assert summary["rows"] == len(rows)
    assert summary["cells"] == len(rows) * len(periods)
    assert re.fullmatch(r"[0-9a-f]{64}", summary["cell_checksum"])


# -- Xactly ------------------------------------------------------------------------------------------


def test_xactly_ten_million_rows_are_generated_not_held():
    held = allocated_by(lambda: XactlyData(seed=1, volume=TEN_MILLION, tables=["xc_credit", "xc_quota_hist"]))
    assert held < 1_000_000, f"10M Xactly rows kept {held:,} bytes"
    data = XactlyData(seed=1, volume=TEN_MILLION, tables=["xc_credit", "xc_quota", "xc_quota_hist"])
    rows = data.rows("xc_credit")
    first = [next(rows) for _ in range(3)]
    again = XactlyData(seed=1, volume=TEN_MILLION, tables=["xc_credit"]).rows("xc_credit")
    assert [next(again) for _ in range(3)] == first  # a pure function of the seed
    changes = data.advance(updates=4, creates=2)
    changed = list(data.changed_rows("xc_quota"))
    assert len(changed) == len(changes["xc_quota"].updated) + len(changes["xc_quota"].created) == 6
    stamp = data.clock.now.replace(microsecond=0)
    assert {r["MODIFIED_DATE"] for r in changed} == {stamp}
    versions = list(data.changed_rows("xc_quota_hist"))
    assert len(versions) == 6  # one _HIST version per changed parent row
