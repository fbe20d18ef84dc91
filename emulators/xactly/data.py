"""Deterministic Xactly Connect data: every ``xc_*`` table generated from (seed, volume), and its changes.

The shapes that break naive incremental extraction are generated on purpose (shared/sources/xactly.md §3.8,
§6): rows are loaded in big batches that share one ``MODIFIED_DATE`` (so ties cross any sensible page
boundary), a quarter of the history was modified after creation (so ``MODIFIED_DATE`` order and key order
disagree), and every :meth:`XactlyData.advance` stamps its updates — which hit random, often low keys — and
its new rows with one shared timestamp.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from emulators.core import Mutation, SeededCollection, SimClock
from emulators.core.clock import EPOCH
from emulators.core.collection import Touch
from emulators.xactly.tables import TABLES, Table

Record = dict[str, Any]
Make = Callable[[int, random.Random, datetime | None], Record]
#: Summary tables have no key (§2.1); the emulator numbers their rows with this hidden column.
ROW_NUMBER = "__ROW"

_FIRST = ["Ana", "Björn", "Chloé", "Dmitri", "Emeka", "Fatima", "Guo", "Hiro", "Inés", "José", "Kai", "Lena"]
_LAST = ["Okafor", "Müller", "García", "O'Brien", "Nguyen", "Smith", "Kowalski", "Rossi", "Tanaka", "Dubois"]
_PERSON_COLUMNS = ("PARTICIPANT_NAME", "PERSON_NAME", "MANAGER_NAME", "_BY_NAME")


def _version(row: Record, slot: int) -> Record:
    """A ``_HIST`` version: the parent's row under its own OBJECT_ID."""
    return {**row, "OBJECT_ID": slot}


def string_key(i: int) -> str:
    """A unique string key whose order is unrelated to creation order (Knuth's multiplicative hash)."""
    return f"{(i * 2654435761) % 2**32:08x}-{i}"


def _person(rng: random.Random) -> str:
    # §2.3: some tenants embed the employee id in participant names.
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)} ({rng.randint(10000, 99999)})"


class XactlyData:
    """The tables' records (core :class:`Collection` per table), a :class:`SimClock` and the change step.

    ``volume`` is the row count of every keyed table; ``_HIST`` tables start with one version per parent
    row and the summaries with ``volume // 4 + 1`` rows. ``tables`` restricts which tables exist.
    """

    def __init__(
        self,
        seed: int = 1,
        volume: int = 100,
        tables: Iterable[str] | None = None,
        custom_columns: bool = True,
        keep: bool = True,
    ) -> None:
        self.seed = seed
        self.volume = volume
        self.clock = SimClock()
        self.custom_columns = custom_columns
        names = sorted(tables) if tables is not None else list(TABLES)
        unknown = set(names) - set(TABLES)
        if unknown:
            msg = f"unknown xactly tables: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        self.tables: dict[str, Table] = {n: self._shape(TABLES[n]) for n in names}
        self.mutation_count = 0
        #: Kept for callers; rows are always generated on demand now (memory flat at any volume).
        self.keep = keep
        self.collections: dict[str, SeededCollection] = {}
        self.changed_slots: dict[str, list[int]] = {}
        for table in self.tables.values():
            self.collections[table.name] = self._collection(table)

    def rows(self, name: str) -> Iterator[Record]:
        """The table's rows, generated one at a time (never held: 10M rows stream into H2's CSV)."""
        yield from self.collections[name].iter_records()

    def key_value(self, table: Table, slot: int) -> Any:
        """The key column's value of row ``slot`` (the row number for keyless summaries)."""
        if not table.key or table.hist_of:
            return slot
        return string_key(slot) if table.sql_type(table.key[0]).startswith("VARCHAR") else slot

    def changed_rows(self, name: str) -> Iterator[Record]:
        """Rows the last :meth:`advance` updated or created in table ``name``."""
        collection = self.collections[name]
        for slot in self.changed_slots.get(name, []):
            record = collection.get(slot)
            if record is not None:
                yield record

    def _shape(self, table: Table) -> Table:
        if table.custom and not self.custom_columns:
            columns = tuple(c for c in table.columns if "__" not in c)
            return Table(
                table.name, table.key, columns, custom=False, hist_of=table.hist_of, source_types=table.source_types
            )
        return table

    def rng(self, purpose: str) -> random.Random:
        """A random stream that depends only on the seed and what it is for."""
        return random.Random(f"xactly:{self.seed}:{purpose}")

    def initial_count(self, table: Table) -> int:
        """Rows a table starts with."""
        return self.volume if table.key else self.volume // 4 + 1

    def _collection(self, table: Table) -> SeededCollection:
        key = table.key[0] if table.key else ROW_NUMBER
        seed = f"xactly:{self.seed}:populate:{table.name}"
        make = self.maker(table)
        return SeededCollection(
            table.name,
            lambda slot, born: make(slot, random.Random(f"{seed}:{slot}"), born),
            self._toucher(table),
            seed=seed,
            count=self.initial_count(table),
            key=key,
        )

    # -- row generation ------------------------------------------------------------------------

    def _modified(self, i: int, rng: random.Random, born: datetime | None) -> datetime:
        """Load batches of ~a third of the volume share one stamp; 25% of rows were modified later."""
        if born is not None:
            return born
        batches = 3
        batch = min(batches - 1, (i - 1) * batches // max(self.volume, 1))
        if rng.random() < 0.25:
            batch = rng.randint(batch, batches)
        return self.clock.history_point(0.5 + batch / (2 * batches))

    def _value_maker(self, table: Table, column: str) -> Callable[[random.Random], Any]:
        sql_type = table.sql_type(column)
        start = EPOCH
        if sql_type == "TIMESTAMP":
            if column == "TERMINATION_DATE":
                return lambda r: None if r.random() < 0.8 else start + timedelta(seconds=r.randint(0, 31_000_000))
            return lambda r: start + timedelta(seconds=r.randint(0, 31_000_000), milliseconds=r.randint(0, 999))
        if sql_type == "CHAR(1)":
            return lambda r: str(r.randint(0, 1))
        if sql_type == "BIGINT":
            return lambda r: None if r.random() < 0.05 else r.randint(1, 2_000_000)
        if sql_type.startswith("DECIMAL"):
            return lambda r: None if r.random() < 0.05 else Decimal(r.randint(-(10**6), 10**9)).scaleb(-4)
        if sql_type.startswith("VARCHAR(64)"):
            return lambda r: string_key(r.randint(1, 10**6))
        if column in {"FIRST_NAME", "MIDDLE_NAME"}:
            return lambda r: None if column == "MIDDLE_NAME" and r.random() < 0.6 else r.choice(_FIRST)
        if column == "LAST_NAME":
            return lambda r: r.choice(_LAST)
        if column == "EMAIL":
            return lambda r: f"{r.choice(_FIRST).lower()}.{r.randint(1, 9999)}@example.com"
        if column.endswith(_PERSON_COLUMNS):
            return _person
        word = column.lower().removesuffix("_name")
        return lambda r: f'{word} {r.randint(1, 500)}, "{r.choice("abcxyz")}"'

    def maker(self, table: Table) -> Make:
        """``make(i, rng, born)`` → row ``i`` of ``table`` (values only depend on ``i``'s rng draws)."""
        parent = TABLES.get(table.hist_of or "")
        fixed = {"OBJECT_ID", "MODIFIED_DATE", "CREATED_DATE", "VERSION", *table.key}
        if parent:
            fixed.update(parent.key)
        values = [(c, self._value_maker(table, c)) for c in table.columns if c not in fixed]
        key_type = table.sql_type(table.key[0]) if table.key else ""
        has_modified = "MODIFIED_DATE" in table.columns

        def make(i: int, rng: random.Random, born: datetime | None) -> Record:
            record: Record = {}
            if not table.key:
                record[ROW_NUMBER] = i
            elif parent:
                record["OBJECT_ID"] = i
                record[parent.key[0]] = rng.randint(1, max(self.volume, 1))
            else:
                record[table.key[0]] = string_key(i) if key_type.startswith("VARCHAR") else i
            if "VERSION" in table.columns:
                record["VERSION"] = 1
            if has_modified:
                modified = self._modified(i, rng, born)
                record["MODIFIED_DATE"] = modified
                record["CREATED_DATE"] = modified - timedelta(days=rng.randint(0, 30))
            for column, value in values:
                record[column] = value(rng)
            return {c: record.get(c) for c in (*((ROW_NUMBER,) if not table.key else ()), *table.columns)}

        return make

    def _toucher(self, table: Table) -> Touch:
        amounts = [c for c in table.columns if table.sql_type(c).startswith("DECIMAL")]

        def touch(record: Record, rng: random.Random, when: datetime) -> None:
            if "MODIFIED_DATE" in record:
                record["MODIFIED_DATE"] = when
                if "VERSION" in record:
                    record["VERSION"] = (record.get("VERSION") or 0) + 1
                if "MODIFIED_BY_NAME" in record:
                    record["MODIFIED_BY_NAME"] = _person(rng)
            for column in amounts:
                record[column] = Decimal(rng.randint(-(10**6), 10**9)).scaleb(-4)

        return touch

    # -- changes -------------------------------------------------------------------------------

    def advance(self, updates: int = 5, creates: int = 5, seconds: float = 86_400) -> dict[str, Mutation]:
        """One "next day": per table, ``updates`` existing rows and ``creates`` new ones.

        All share the new clock time as MODIFIED_DATE; each updated parent row also gets a new ``_HIST`` version.

        No deletes: Xactly Connect exposes no delete marker (§7), so an incremental reader cannot see them.
        """
        self.clock.advance(seconds)
        stamp = self.clock.now.replace(microsecond=0)
        rng = self.rng(f"advance:{self.mutation_count}")
        self.mutation_count += 1
        changes: dict[str, Mutation] = {}
        slots: dict[str, list[int]] = {}
        for name, table in self.tables.items():
            if table.hist_of is None:
                step = self.collections[name].mutate(rng, updates, creates, 0, when=stamp)
                slots[name] = step.updated + step.created
                changes[name] = Mutation(
                    updated=[self.key_value(table, s) for s in step.updated],
                    created=[self.key_value(table, s) for s in step.created],
                )
        for name, table in self.tables.items():
            if table.hist_of is not None:
                slots[name] = self._add_versions(table, slots.get(table.hist_of, []), stamp)
                changes[name] = Mutation(created=list(slots[name]))
        self.changed_slots = slots
        return changes

    def _add_versions(self, table: Table, parent_slots: list[int], stamp: datetime) -> list[int]:
        collection = self.collections[table.name]
        parents = self.collections.get(table.hist_of or "")
        created: list[int] = []
        if parents is None:
            return created
        for parent_slot in parent_slots:
            parent = parents.get(parent_slot)
            if parent is None:
                continue
            # A version repeats the parent's columns the _HIST object has (xc_quota_assignment_hist lacks one).
            row = {c: parent.get(c) for c in table.columns}
            created.append(collection.append(partial(_version, row), stamp))
        return created

    def truth(self, table: str | None = None) -> dict[str, list[Record]]:
        """What each table holds now, rows in key order, without the summaries' hidden row number."""
        names = [table] if table else list(self.tables)
        result = {}
        for name in names:
            records = self.collections[name].records()
            key = self.tables[name].key
            if not key:
                records = [{k: v for k, v in r.items() if k != ROW_NUMBER} for r in records]
            else:
                records.sort(key=lambda r: r[key[0]])  # string keys do not follow row numbers
            result[name] = records
        return result
