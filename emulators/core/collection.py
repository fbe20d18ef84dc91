"""An ordered, mutable set of records with a cached serialised form.

Why a cache: the benchmark serves 100k+ records; re-encoding every record on every page would make
the emulator the bottleneck, so each record is encoded once with orjson and re-encoded only when it
changes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

Record = dict[str, Any]


@dataclass
class Mutation:
    """What one "advance the clock" step changed, so tests can assert against it."""

    updated: list[Any] = field(default_factory=list)
    created: list[Any] = field(default_factory=list)
    deleted: list[Any] = field(default_factory=list)
    #: The same changes per collection name (keys repeat across collections, so the flat lists can mix them).
    collections: dict[str, Mutation] = field(default_factory=dict)

    def merge(self, other: Mutation, collection: str | None = None) -> None:
        """Accumulate another collection's changes into this summary."""
        self.updated += other.updated
        self.created += other.created
        self.deleted += other.deleted
        if collection is not None:
            self.collections[collection] = other

    def of(self, collection: str) -> Mutation:
        """What changed in one collection."""
        return self.collections.get(collection, Mutation())

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the admin API."""
        return {
            "updated": self.updated,
            "created": self.created,
            "deleted": self.deleted,
            "collections": {name: m.as_dict() for name, m in self.collections.items()},
        }


class Collection:
    """Records of one source collection keyed by their primary key, in key order.

    ``make`` builds a new record for a key; ``touch`` changes an existing record in place. Both receive
    a ``random.Random`` so that a (seed, volume, mutation count) triple always yields the same data.
    """

    def __init__(
        self,
        name: str,
        make: Callable[[int, random.Random], Record],
        touch: Callable[[Record, random.Random], None],
        key: str = "id",
    ) -> None:
        self.name = name
        self.key = key
        self._make = make
        self._touch = touch
        self._records: dict[Any, Record] = {}
        self._encoded: dict[Any, bytes] = {}
        self._order: list[Any] | None = None
        self.deleted: dict[Any, Record] = {}
        self.next_id = 1
        self.lock = threading.RLock()

    def populate(self, count: int, rng: random.Random) -> None:
        """Generate the initial ``count`` records with consecutive integer ids starting at ``next_id``."""
        with self.lock:
            for _ in range(count):
                self.add(self._make(self.next_id, rng))
                self.next_id += 1

    def add(self, record: Record) -> None:
        """Insert or replace one record."""
        with self.lock:
            key = record[self.key]
            if key not in self._records:
                self._order = None
            self._records[key] = record
            self._encoded.pop(key, None)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def keys(self) -> list[Any]:
        """Primary keys in ascending order (the order list endpoints return)."""
        with self.lock:
            if self._order is None:
                self._order = sorted(self._records)
            return self._order

    def records(self) -> list[Record]:
        """Live records in key order: the ground truth tests compare a warehouse with."""
        with self.lock:
            return [self._records[k] for k in self.keys()]

    def get(self, key: Any) -> Record | None:
        """One live record, or None when absent or deleted."""
        return self._records.get(key)

    def encoded(self, key: Any) -> bytes:
        """The record's JSON bytes, encoded once per change."""
        data = self._encoded.get(key)
        if data is None:
            data = orjson.dumps(self._records[key])
            self._encoded[key] = data
        return data

    def mutate(self, rng: random.Random, updates: int, creates: int, deletes: int) -> Mutation:
        """Update, create and delete records, picking victims from all keys with ``rng``.

        Updates hit random (often low) keys on purpose: incremental taps must not assume that changed
        records sort after the ones they already read.
        """
        change = Mutation()
        with self.lock:
            keys = list(self.keys())
            for key in rng.sample(keys, min(deletes, len(keys))):
                self.deleted[key] = self._records.pop(key)
                self._encoded.pop(key, None)
                change.deleted.append(key)
            self._order = None
            remaining = self.keys()
            for key in rng.sample(remaining, min(updates, len(remaining))):
                self._touch(self._records[key], rng)
                self._encoded.pop(key, None)
                change.updated.append(key)
            for _ in range(creates):
                record = self._make(self.next_id, rng)
                self.next_id += 1
                self.add(record)
                change.created.append(record[self.key])
        return change
