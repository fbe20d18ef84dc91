"""Shared helpers: run the tap in-process against the H2 emulator and collect its Singer messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from landing_tap_xactly.tap import TapXactly

#: Small but shaped like the source: string keys, custom columns, a _HIST table, a keyless summary.
TABLES = [
    "xc_attainment_measure",
    "xc_credit",
    "xc_participant",
    "xc_position",
    "xc_position_hist",
    "xc_credit_summary",
]


@dataclass
class SyncResult:
    """What one tap run wrote, by stream."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]


def sync(config: dict[str, Any], state: dict[str, Any] | None = None, catalog: dict | None = None) -> SyncResult:
    """One in-process run of the tap (the SDK's own capture of stdout/stderr)."""
    from singer_sdk.testing import tap_sync_test  # noqa: PLC0415

    tap = TapXactly(config=config, state=state, catalog=catalog)
    stdout, stderr = tap_sync_test(tap)
    result = SyncResult(stderr=stderr.read())
    for line in stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            result.records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            result.states.append(message["value"])
    return result


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """An emulator truth row in the tap's output form (UTC ISO-8601, exact decimals as numbers)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"
        elif isinstance(value, Decimal):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def key_of(table_key: tuple[str, ...], row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in table_key) if table_key else tuple(sorted(row.items()))


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory):
    """One emulator per test module (H2 start costs seconds on a shared box); tests that change data
    start their own through the ``xactly_db`` fixture."""
    from emulators.xactly import XactlyEmulator  # noqa: PLC0415

    emulator = XactlyEmulator(seed=7, volume=60, tables=TABLES, workdir=tmp_path_factory.mktemp("emu")).start()
    yield emulator
    emulator.stop()
