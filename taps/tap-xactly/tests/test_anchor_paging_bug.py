"""Proof on the emulator's data that id-only paging loses rows and ours does not.

The ANCHOR query below is a re-implementation, for this test only, of the public tap's paging as described in
shared/sources/xactly.md §3.5 step 3: ``MODIFIED_DATE >= <bookmark>`` with the bookmark fixed for the whole
run, ``<pk> > '<last pk>'`` with the last page's final id, ``ORDER BY MODIFIED_DATE, <pk> LIMIT n``.
It is not used anywhere in the tap.
"""

from __future__ import annotations

import jpype.dbapi2 as dbapi2
from landing_tap_xactly import jdbc

from tests.conftest import sync

PAGE = 7


def anchor_paging_read_ids(emu, table: str, key: str, bookmark: str) -> list:
    """ANCHOR (test only): the public tap's id-only paging, in its query shape."""
    jdbc.start_jvm([jdbc.jar_paths(emu.tap_config()["driver_jar"])[0]])
    config = emu.tap_config()
    connection = dbapi2.connect(
        config["jdbc_url"], driver=config["driver_class"],
        driver_args={"user": config["username"], "password": config["password"]},
    )  # fmt: skip
    ids: list = []
    last_pk = 0
    try:
        cursor = connection.cursor()
        while True:
            cursor.execute(
                f"SELECT * FROM xactly.{table} WHERE MODIFIED_DATE >= '{bookmark}' AND {key} > '{last_pk}' "
                f"ORDER BY MODIFIED_DATE, {key} LIMIT {PAGE}"
            )
            names = [d[0] for d in cursor.description]
            page = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            ids += [row[key] for row in page]
            if len(page) < PAGE:
                return ids
            last_pk = page[-1][key]
    finally:
        connection.close()


def test_anchor_id_only_paging_drops_rows_on_this_data_and_ours_drops_none(emu):
    truth = {r["CREDIT_ID"] for r in emu.truth("xc_credit")["xc_credit"]}
    anchor = anchor_paging_read_ids(emu, "xc_credit", "CREDIT_ID", "1970-01-11 00:00:01")
    ours = [
        r["CREDIT_ID"] for r in sync(emu.tap_config(page_size=PAGE, tables_include=["xc_credit"])).records["xc_credit"]
    ]
    assert len(set(anchor)) < len(truth), "the anchor's paging should lose rows on tied/updated data"
    assert sorted(ours) == sorted(truth)


def test_anchor_misses_low_key_rows_updated_between_runs_and_ours_gets_them(xactly_db):
    emu = xactly_db(seed=35, volume=40, tables=["xc_credit"])
    first = sync(emu.tap_config(page_size=PAGE))
    changes = emu.advance(updates=8, creates=0)["xc_credit"]
    updated = set(changes.updated)
    bookmark = first.final_state["bookmarks"]["xc_credit"]["replication_key_value"][:19].replace("T", " ")
    anchor = set(anchor_paging_read_ids(emu, "xc_credit", "CREDIT_ID", bookmark))
    ours = {r["CREDIT_ID"] for r in sync(emu.tap_config(page_size=PAGE), state=first.final_state).records["xc_credit"]}
    assert updated <= ours
    assert updated - anchor, "anchor paging should miss some of the updated low-key rows"
