"""`meltano run tap-xactly target-warehouse` against the Xactly emulator (H2 over JDBC), row for row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml
from mapper_pii.hashing import KeyedHasher

from tests.harness import PROJECT_ROOT

pytestmark = pytest.mark.e2e
SCHEMA = "TAP_XACTLY"
TABLES = ["xc_credit", "xc_attainment_measure", "xc_participant", "xc_quota_hist", "xc_quota", "xc_credit_summary"]


def point_at(emu) -> dict[str, str]:
    return {"TAP_XACTLY_JDBC_URL": emu.jdbc_url, "TAP_XACTLY_PAGE_SIZE": "9"}


def comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, Decimal | float):
        return round(float(value), 4)
    return value


def warehouse_rows(meltano, emu, table: str) -> list[tuple]:
    columns = emu.tables[table].columns
    select = ", ".join(f'"{c}"' for c in columns)
    rows = meltano.query(f'select {select} from "{SCHEMA}"."{table}" where _sdc_deleted_at is null')
    return sorted((tuple(comparable(v) for v in row) for row in rows), key=repr)


def dev_hashing() -> tuple[KeyedHasher, dict[str, list[str]]]:
    """The extractor hashes personal columns itself (docs/privacy.md): the dev key and its column lists."""
    root = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    dev = next(e for e in root["environments"] if e["name"] == "dev")
    key = next(p for p in dev["config"]["plugins"]["extractors"] if p["name"] == "tap-xactly")["config"]["hash_key"]
    plugin = yaml.safe_load((PROJECT_ROOT / "taps/tap-xactly/tap-xactly.meltano.yml").read_text())
    return KeyedHasher(key), plugin["plugins"]["extractors"][0]["config"]["hash_fields"]


def truth_rows(emu, table: str) -> list[tuple]:
    columns = emu.tables[table].columns
    hasher, hashed = dev_hashing()
    personal = set(hashed.get(table, []))
    return sorted(
        (tuple(comparable(hasher(r[c]) if c in personal else r[c]) for c in columns) for r in emu.truth(table)[table]),
        key=repr,
    )


def test_warehouse_matches_the_source_row_for_row_and_again_after_changes(meltano, xactly_db):
    emu = xactly_db(seed=31, volume=45, tables=TABLES)
    meltano.run("run", "tap-xactly", "target-warehouse", env=point_at(emu))
    for table in TABLES:
        assert warehouse_rows(meltano, emu, table) == truth_rows(emu, table), table

    changes = emu.advance(updates=8, creates=5)
    meltano.run("run", "tap-xactly", "target-warehouse", env=point_at(emu))
    for table in TABLES:
        assert warehouse_rows(meltano, emu, table) == truth_rows(emu, table), f"{table} after changes"
        key = emu.tables[table].key
        if key:
            sql = f'select count(*), count(distinct "{key[0]}") from "{SCHEMA}"."{table}"'
            ((count, distinct),) = meltano.query(sql)
            assert count == distinct, f"{table}: duplicates"
    assert changes["xc_credit"].updated, "the change step must update existing rows"
