"""Records of one source collection: generated from the seed on demand, or stored when few.

Why generated: a benchmark account holds millions of records (550k stored ZenGRC records took 5.8 GB),
so a :class:`SeededCollection` keeps only what changed since it was built (touched, created and deleted
slots, a few integers each) and rebuilds any record from ``(seed, slot, its changes)`` when a page asks for
it. Memory is then flat in the volume. A :class:`StoredCollection` keeps every record in a dict: for the
handful of configuration objects whose keys are not consecutive integers (Zendesk tags, field definitions).

Both answer the same questions, so the servers page either one by *rank* (position among live records in
key order) and the admin API reports ground truth without materialising a record list
(:meth:`Collection.summary`: count, sorted-key checksum, newest change).
"""

from __future__ import annotations

import abc
import bisect
import copy
import hashlib
import heapq
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from emulators.core.clock import EPOCH, HISTORY

Record = dict[str, Any]
#: ``make(key, rng, born)``: a new record of a :class:`StoredCollection`; ``born`` is None while populating,
#: else the moment :meth:`Collection.mutate` created it.
Make = Callable[[int, random.Random, datetime | None], Record]
#: ``make(slot, born)``: the record of a :class:`SeededCollection` slot, a pure function of the slot (draw
#: from :meth:`SeededCollection.rng` or :func:`mix`); ``born`` as for :data:`Make`.
SeededMake = Callable[[int, datetime | None], Record]
#: ``touch(record, rng, when)``: change a record in place as an edit at ``when`` would.
Touch = Callable[[Record, random.Random, datetime], None]
#: ``tombstone(record, when)``: what a soft delete at ``when`` leaves (Zendesk keeps deleted tickets listed).
Tombstone = Callable[[Record, datetime], None]

_MASK64 = (1 << 64) - 1
#: Encoded records kept per collection (bytes): small volumes are served from memory after the first read,
#: big ones stream from the generator without the cache growing past this.
ENCODED_CACHE_BYTES = 64 * 1024 * 1024


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 finaliser): cheap per-record draws with no ``Random`` object."""
    value = 0x9E3779B97F4A7C15
    for part in parts:
        value = (value ^ (part & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        value = (value ^ (value >> 31)) * 0x94D049BB133111EB & _MASK64
        value ^= value >> 29
    return value


def text_seed(text: str) -> int:
    """A stable integer for a purpose string (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Shuffle:
    """A seeded permutation of ``range(size)`` with its inverse, both O(1) memory (Feistel + cycle walking).

    Used as a record timeline: the record at update rank ``k`` is slot ``at(k)``, so "sorted by
    ``updated_at``" needs no index, and the order still disagrees with key order as real data does.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        half = 1
        while (1 << (2 * half)) < max(size, 2):
            half += 1
        self._half = half
        self._mask = (1 << half) - 1
        self._keys = [mix(seed, n) for n in range(4)]

    def _round(self, value: int, key: int) -> int:
        mixed = (value + key) * 0x9E3779B97F4A7C15 & _MASK64
        mixed = (mixed ^ (mixed >> 29)) * 0xBF58476D1CE4E5B9 & _MASK64
        return (mixed >> 32) & self._mask

    def _forward(self, value: int) -> int:
        left, right = value >> self._half, value & self._mask
        for key in self._keys:
            left, right = right, left ^ self._round(right, key)
        return (left << self._half) | right

    def _backward(self, value: int) -> int:
        left, right = value >> self._half, value & self._mask
        for key in reversed(self._keys):
            left, right = right ^ self._round(left, key), left
        return (left << self._half) | right

    def at(self, rank: int) -> int:
        """The element at ``rank``."""
        value = self._forward(rank)
        while value >= self.size:
            value = self._forward(value)
        return value

    def rank(self, element: int) -> int:
        """Inverse of :meth:`at`."""
        value = self._backward(element)
        while value >= self.size:
            value = self._backward(value)
        return value


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


class KeyChecksum:
    """SHA-256 of the keys in ascending order, one decimal (or text) key per line: what a warehouse can redo.

    ``SELECT id FROM t ORDER BY id`` streamed into the same digest must give the same hex string.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._batch: list[str] = []

    def add(self, key: Any) -> None:
        """Append the next key (callers feed keys in ascending order)."""
        self._batch.append(str(key))
        if len(self._batch) >= 65_536:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._digest.update(("\n".join(self._batch) + "\n").encode())
            self._batch = []

    def hexdigest(self) -> str:
        """The checksum of every key added so far."""
        self._flush()
        return self._digest.hexdigest()


def key_checksum(keys: Iterable[Any]) -> str:
    """:class:`KeyChecksum` of ``keys`` (ascending)."""
    checksum = KeyChecksum()
    for key in keys:
        checksum.add(key)
    return checksum.hexdigest()


class Collection(abc.ABC):
    """Live records of one collection in ascending key order, addressed by key or by rank."""

    def __init__(self, name: str, key: str = "id") -> None:
        self.name = name
        self.key = key
        self.lock = threading.RLock()
        self._encoded: dict[Any, bytes] = {}
        self._encoded_bytes = 0

    @abc.abstractmethod
    def __len__(self) -> int:
        """Live records (soft-deleted ones count: they are still listed)."""

    @abc.abstractmethod
    def keys_from(self, rank: int = 0) -> Iterator[Any]:
        """Live keys in ascending order, starting at ``rank``."""

    @abc.abstractmethod
    def rank_after(self, key: Any) -> int:
        """How many live keys are <= ``key``: the rank a cursor just past ``key`` resumes at."""

    @abc.abstractmethod
    def get(self, key: Any) -> Record | None:
        """One live record (a fresh copy for seeded collections), or None when absent or deleted."""

    @abc.abstractmethod
    def mutate(
        self, rng: random.Random, updates: int, creates: int, deletes: int, when: datetime | None = None
    ) -> Mutation:
        """Update, create and delete records, victims drawn from all live keys with ``rng``."""

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def keys(self) -> list[Any]:
        """Every live key in ascending order (small collections and tests: this is a list)."""
        return list(self.keys_from(0))

    def iter_records(self, rank: int = 0) -> Iterator[Record]:
        """Live records in key order from ``rank``, one at a time (constant memory)."""
        for key in self.keys_from(rank):
            record = self.get(key)
            if record is not None:
                yield record

    def records(self) -> list[Record]:
        """Live records in key order: the ground truth tests compare a warehouse with (small volumes)."""
        return list(self.iter_records())

    def encoded(self, key: Any) -> bytes:
        """The record's JSON bytes, cached while the cache is under :data:`ENCODED_CACHE_BYTES`."""
        data = self._encoded.get(key)
        if data is None:
            data = orjson.dumps(self.get(key))
            if self._encoded_bytes + len(data) <= ENCODED_CACHE_BYTES:
                self._encoded[key] = data
                self._encoded_bytes += len(data)
        return data

    def _forget(self, key: Any) -> None:
        data = self._encoded.pop(key, None)
        if data is not None:
            self._encoded_bytes -= len(data)

    def summary(self, updated_field: str | None = None) -> dict[str, Any]:
        """Ground truth without a record list: count, key range, sorted-key checksum, newest change.

        ``updated_field`` names the record's change time; its maximum is compared as UTC text, so it
        is left out when the collection has no such field.
        """
        checksum = KeyChecksum()
        count = 0
        first = last = None
        with self.lock:
            for key in self.keys_from(0):
                checksum.add(key)
                count += 1
                first = key if first is None else first
                last = key
            result: dict[str, Any] = {
                "count": count,
                "min_key": first,
                "max_key": last,
                "key_checksum": checksum.hexdigest(),
            }
            if updated_field:
                result["max_updated"] = self.max_updated(updated_field)
        return result

    def max_updated(self, updated_field: str) -> str | None:
        """Newest ``updated_field`` as UTC ISO-8601 text (scans; seeded collections answer faster)."""
        newest: datetime | None = None
        for record in self.iter_records():
            moment = _moment(record.get(updated_field))
            if moment is not None and (newest is None or moment > newest):
                newest = moment
        return None if newest is None else newest.isoformat()


def _moment(value: Any) -> datetime | None:
    """A change time as an aware UTC datetime (naive values are UTC wall time, as the emulators store them)."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


class StoredCollection(Collection):
    """Every record held in a dict: for small collections with arbitrary keys (tags, field definitions).

    ``make(key, rng, born)`` builds a new record for an integer key; ``touch`` changes one in place.
    """

    def __init__(self, name: str, make: Make | None = None, touch: Touch | None = None, key: str = "id") -> None:
        super().__init__(name, key)
        self._make = make
        self._touch = touch
        self._records: dict[Any, Record] = {}
        self._order: list[Any] | None = None
        self.next_id = 1

    def populate(self, count: int, rng: random.Random) -> None:
        """Generate the initial ``count`` records with consecutive integer ids starting at ``next_id``."""
        assert self._make is not None
        with self.lock:
            for _ in range(count):
                self.add(self._make(self.next_id, rng, None))
                self.next_id += 1

    def add(self, record: Record) -> None:
        """Insert or replace one record."""
        with self.lock:
            key = record[self.key]
            if key not in self._records:
                self._order = None
            self._records[key] = record
            self._forget(key)

    def __len__(self) -> int:
        return len(self._records)

    def _sorted(self) -> list[Any]:
        with self.lock:
            if self._order is None:
                self._order = sorted(self._records)
            return self._order

    def keys_from(self, rank: int = 0) -> Iterator[Any]:
        """Live keys in ascending order from ``rank``."""
        return iter(self._sorted()[rank:])

    def rank_after(self, key: Any) -> int:
        """How many live keys are <= ``key``."""
        return bisect.bisect_right(self._sorted(), key)

    def get(self, key: Any) -> Record | None:
        """One live record, or None."""
        return self._records.get(key)

    def mutate(
        self, rng: random.Random, updates: int, creates: int, deletes: int, when: datetime | None = None
    ) -> Mutation:
        """Update, create and delete records, picking victims from all keys with ``rng``."""
        change = Mutation()
        moment = when or EPOCH + HISTORY
        with self.lock:
            keys = list(self._sorted())
            for key in rng.sample(keys, min(deletes, len(keys))):
                del self._records[key]
                self._forget(key)
                change.deleted.append(key)
            self._order = None
            remaining = self._sorted()
            if self._touch is not None:
                for key in rng.sample(remaining, min(updates, len(remaining))):
                    self._touch(self._records[key], rng, moment)
                    self._forget(key)
                    change.updated.append(key)
            if self._make is not None:
                for _ in range(creates):
                    record = self._make(self.next_id, rng, moment)
                    self.next_id += 1
                    self.add(record)
                    change.created.append(record[self.key])
        return change


class SeededCollection(Collection):
    """Records rebuilt from the seed on demand; only changes are held (a few integers per changed record).

    Slots ``first .. first + count - 1`` are the seeded history; :meth:`mutate` appends slots and records
    touches and deletions per slot. A record's key is its slot (integer keys in slot order). Each
    record also has an update rank on a seeded timeline (:meth:`history_moment`): the k-th oldest
    history record changed at ``timeline(k)``, strictly increasing up to ~28M records, so exports
    sorted by change time walk ranks instead of sorting anything.
    """

    def __init__(
        self,
        name: str,
        make: SeededMake,
        touch: Touch,
        *,
        seed: str,
        count: int,
        first: int = 1,
        key: str = "id",
        tombstone: Tombstone | None = None,
        history: tuple[float, float] = (0.05, 0.95),
        fast_encode: Callable[[int, datetime | None], bytes] | None = None,
    ) -> None:
        super().__init__(name, key)
        self._make = make
        self._fast_encode = fast_encode
        self._touch = touch
        self._tombstone = tombstone
        self._seed = seed
        self.first = first
        self.initial = count
        self.next_id = first + count
        self.timeline = Shuffle(count, text_seed(f"{seed}:timeline"))
        start = HISTORY * history[0]
        self._history_start = EPOCH + timedelta(seconds=int(start.total_seconds()))
        self._history_span = max(int((HISTORY * (history[1] - history[0])).total_seconds()), count)
        self._steps: list[datetime] = []
        self._born: list[tuple[int, int]] = []  # (first slot created by a step, step)
        self._touched: dict[int, list[int]] = {}
        self._removed: dict[int, int] = {}  # slot -> step that deleted it
        self._gone: list[int] = []  # hard-deleted slots, sorted
        self._appended: dict[int, Record] = {}  # slots given whole by append(): copies of other records
        self._changed: dict[int, datetime] | None = None
        self._change_overlay: list[tuple[int, int]] | None = None

    # -- the seeded timeline ---------------------------------------------------------------------

    def moment_at(self, rank: int) -> datetime:
        """When the history record of update rank ``rank`` last changed (whole seconds, increasing)."""
        offset = rank * self._history_span // max(self.initial, 1)
        return self._history_start + timedelta(seconds=offset)

    def history_moment(self, slot: int) -> datetime:
        """When history record ``slot`` last changed before any :meth:`mutate` (makers stamp it)."""
        return self.moment_at(self.timeline.rank(slot - self.first))

    def history_slot(self, rank: int) -> int:
        """The history slot of update rank ``rank``."""
        return self.first + self.timeline.at(rank)

    def changed_since_history(self) -> dict[int, datetime]:
        """Slots whose change time is no longer their history moment: touched, created or soft-deleted."""
        with self.lock:
            if self._changed is None:
                self._changed = self._collect_changed()
            return self._changed

    def _collect_changed(self) -> dict[int, datetime]:
        changed: dict[int, datetime] = {}
        for slot, steps in self._touched.items():
            changed[slot] = self._steps[steps[-1]]
        for index, (first, step) in enumerate(self._born):
            end = self._born[index + 1][0] if index + 1 < len(self._born) else self.next_id
            for slot in range(first, end):
                changed[slot] = max(changed.get(slot, self._steps[step]), self._steps[step])
        for slot, step in self._removed.items():
            if self._tombstone is not None:
                changed[slot] = max(changed.get(slot, self._steps[step]), self._steps[step])
            else:
                changed.pop(slot, None)
        return changed

    def last_change(self, slot: int) -> datetime:
        """When ``slot`` last changed: its latest edit, creation or soft deletion, else its history moment."""
        moment = self.changed_since_history().get(slot)
        return moment if moment is not None else self.history_moment(slot)

    def first_rank_at(self, moment: datetime) -> int:
        """The first history update rank whose moment is at or after ``moment`` (binary search)."""
        low, high = 0, self.initial
        while low < high:
            middle = (low + high) // 2
            if self.moment_at(middle) < moment:
                low = middle + 1
            else:
                high = middle
        return low

    def change_order(self, start: tuple[int, int] = (0, 0)) -> Iterator[tuple[int, int]]:
        """(unix seconds of last change, slot) of every listed record in that order, from the first >= ``start``.

        What "sorted by change time" exports walk: the seeded history by rank (skipping records changed
        since) merged with the few changed ones.
        """
        with self.lock:
            changed = self.changed_since_history()
            if self._change_overlay is None:
                self._change_overlay = sorted((int(m.timestamp()), slot) for slot, m in changed.items())
            overlay = self._change_overlay
            gone = set(self._gone)
        moment = datetime.fromtimestamp(start[0], UTC)
        rank = self.first_rank_at(moment)
        at_start = rank < self.initial and int(self.moment_at(rank).timestamp()) == start[0]
        if at_start and self.history_slot(rank) < start[1]:
            rank += 1

        def history() -> Iterator[tuple[int, int]]:
            for k in range(rank, self.initial):
                slot = self.history_slot(k)
                if slot not in changed and slot not in gone:
                    yield int(self.moment_at(k).timestamp()), slot

        return heapq.merge(history(), iter(overlay[bisect.bisect_left(overlay, start) :]))

    @property
    def steps(self) -> list[datetime]:
        """Moment of every :meth:`mutate` so far."""
        return list(self._steps)

    # -- ranks and keys --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.next_id - self.first - len(self._gone)

    def _slot_at(self, rank: int) -> int:
        slot = self.first + rank
        while True:
            moved = self.first + rank + bisect.bisect_right(self._gone, slot)
            if moved == slot:
                return slot
            slot = moved

    def keys_from(self, rank: int = 0) -> Iterator[int]:
        """Live slots in ascending order from ``rank``."""
        if rank >= len(self):
            return
        slot = self._slot_at(max(rank, 0))
        gone = self._gone
        index = bisect.bisect_left(gone, slot)
        end = self.next_id
        while slot < end:
            if index < len(gone) and gone[index] == slot:
                index += 1
            else:
                yield slot
            slot += 1

    def rank_after(self, key: Any) -> int:
        """How many live slots are <= ``key``."""
        slot = min(max(int(key), self.first - 1), self.next_id - 1)
        return slot - self.first + 1 - bisect.bisect_right(self._gone, slot)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.first <= key < self.next_id and key not in self._removed_hard()

    def _removed_hard(self) -> dict[int, int]:
        return {} if self._tombstone is not None else self._removed

    # -- records ---------------------------------------------------------------------------------

    def born(self, slot: int) -> datetime | None:
        """When :meth:`mutate` created ``slot`` (None for the seeded history)."""
        if slot < self.first + self.initial:
            return None
        index = bisect.bisect_right(self._born, (slot, len(self._steps))) - 1
        return self._steps[self._born[index][1]]

    def rng(self, slot: int, purpose: str = "") -> random.Random:
        """The random stream of one record (and of each of its edits)."""
        return random.Random(f"{self._seed}:{slot}{purpose}")

    def history_record(self, slot: int) -> Record:
        """The record as it was first generated (or appended), before any edit."""
        appended = self._appended.get(slot)
        if appended is not None:
            return dict(appended)
        return self._make(slot, self.born(slot))

    def append(self, build: Callable[[int], Record], when: datetime) -> int:
        """Add one record built from its new slot (e.g. a copy of another record): held, as it is no seed's.

        For the few rows a change step derives from others (Xactly's ``_HIST`` versions of changed rows).
        """
        with self.lock:
            self._changed = self._change_overlay = None
            slot = self.next_id
            self._steps.append(when)
            self._born.append((slot, len(self._steps) - 1))
            self._appended[slot] = build(slot)
            self.next_id += 1
            return slot

    def get(self, key: Any) -> Record | None:
        """The live record of ``key``, rebuilt: generated, then its edits and deletion replayed in order."""
        if not isinstance(key, int) or not self.first <= key < self.next_id:
            return None
        removed = self._removed.get(key)
        if removed is not None and self._tombstone is None:
            return None
        record = self.history_record(key)
        if key in self._touched or removed is not None:
            record = copy.deepcopy(record)  # makers may share nested parts between records; edits must not
        for step in self._touched.get(key, ()):
            if removed is not None and step >= removed:
                break
            self._touch(record, self.rng(key, f":touch:{step}"), self._steps[step])
        if removed is not None and self._tombstone is not None:
            self._tombstone(record, self._steps[removed])
        return record

    def encoded(self, key: Any) -> bytes:
        """JSON of the record; an unedited one straight from ``fast_encode`` when the source gave one."""
        unedited = key not in self._touched and key not in self._removed and key not in self._appended
        if self._fast_encode is not None and unedited and isinstance(key, int) and self.first <= key < self.next_id:
            return self._fast_encode(key, self.born(key))
        return super().encoded(key)

    def touches(self, slot: int) -> list[datetime]:
        """When each edit of ``slot`` happened (before any deletion), oldest first."""
        removed = self._removed.get(slot)
        return [self._steps[s] for s in self._touched.get(slot, ()) if removed is None or s < removed]

    def deleted_at(self, slot: int) -> datetime | None:
        """When ``slot`` was (soft-)deleted, if it was."""
        step = self._removed.get(slot)
        return None if step is None else self._steps[step]

    def mutate(
        self, rng: random.Random, updates: int, creates: int, deletes: int, when: datetime | None = None
    ) -> Mutation:
        """Delete, update, then create records as of ``when``; victims are ranks drawn with ``rng``.

        Updates hit random (often low) keys on purpose: incremental taps must not assume that changed
        records sort after the ones they already read. A soft-deleted record stays listed (its
        tombstone is what the vendor serves) and is not deleted twice.
        """
        change = Mutation()
        with self.lock:
            self._changed = self._change_overlay = None
            step = len(self._steps)
            self._steps.append(when or EPOCH + HISTORY)
            live = len(self)
            victims = [self._slot_at(r) for r in rng.sample(range(live), min(deletes, live))]
            for slot in victims:
                if slot in self._removed:
                    continue
                self._removed[slot] = step
                if self._tombstone is None:
                    bisect.insort(self._gone, slot)
                self._forget(slot)
                change.deleted.append(slot)
            live = len(self)
            for rank in rng.sample(range(live), min(updates, live)):
                slot = self._slot_at(rank)
                if slot in self._removed:
                    continue
                self._touched.setdefault(slot, []).append(step)
                self._forget(slot)
                change.updated.append(slot)
            if creates > 0:
                self._born.append((self.next_id, step))
                change.created.extend(range(self.next_id, self.next_id + creates))
                self.next_id += creates
        return change

    def max_updated(self, updated_field: str) -> str | None:
        """Newest change without scanning: the newest live history rank, or the last step that changed one."""
        newest: datetime | None = None
        for rank in range(self.initial - 1, -1, -1):
            slot = self.history_slot(rank)
            if slot in self._touched or slot in self._removed:
                continue  # its change time is a step's, counted below (or it is gone)
            record = self.get(slot)
            newest = _moment(record.get(updated_field)) if record else None
            break
        for changed in self.changed_since_history().values():
            moment = _moment(changed)
            newest = moment if newest is None or (moment is not None and moment > newest) else newest
        return None if newest is None else newest.isoformat()
