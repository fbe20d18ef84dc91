"""Fixtures: an Adaptive emulator on a free port, the tap run in-process or through its CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from landing_tap_adaptive.tap import TapAdaptive

from emulators.core.server import EmulatorServer

LOGIN = "emulator@example.com"
PASSWORD = "emulator-password"
#: Allow-list used by the tests: a subset of the emulator's data accounts (the rest are "MNPI").
ALLOW_LIST = ["RPO", "Revenue", "Headcount", "Bookings_Model_New.BM_Exit_ARR", "new_logos"]
TAP = str(Path(sys.executable).with_name("landing-tap-adaptive"))


def tap_config(server: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "api_url": f"{server.url}/api/v38",
        "username": LOGIN,
        "password": PASSWORD,
        "export_data_account_codes": ALLOW_LIST,
        "retry_base_seconds": 0,
        "max_retries": 2,
    }
    config.update(overrides)
    return config


@dataclass
class Run:
    """Singer messages of one run, sorted out (``error``: what ended it, when it failed)."""

    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records.setdefault(message["stream"], []).append(message["record"])
            elif message["type"] == "SCHEMA":
                self.schemas[message["stream"]] = message

    def activated(self, stream: str) -> list[int]:
        """Positions of the ACTIVATE_VERSION messages of one stream."""
        return [i for i, m in enumerate(self.messages) if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]

    def last_record_at(self, stream: str) -> int:
        """Position of the stream's last RECORD message."""
        return max(i for i, m in enumerate(self.messages) if m["type"] == "RECORD" and m["stream"] == stream)

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def counts(self) -> Counter[str]:
        return Counter({k: len(v) for k, v in self.records.items()})


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    select: set[str] | None = None,
    catalog: dict[str, Any] | None = None,
    *,
    expect_error: bool = False,
) -> Run:
    """Run the tap in this process (fast) and collect what it wrote to stdout (up to a failure if expected)."""
    tap = TapAdaptive(config=config, state=state, catalog=catalog)
    if select is not None:
        for name, stream in tap.streams.items():
            stream.selected = name in select
    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8")
    error: BaseException | None = None
    with contextlib.redirect_stdout(wrapper):
        try:
            tap.sync_all()
        except Exception as exc:
            if not expect_error:
                raise
            error = exc
        wrapper.flush()
    if expect_error and error is None:
        raise AssertionError("the run was expected to fail")
    lines = buffer.getvalue().decode().split("\n")  # not splitlines(): U+2028 may sit inside a JSON string
    return Run([json.loads(line) for line in lines if line.strip()], error=error)


def error_lines(stderr: str) -> list[str]:
    """The tap's own error lines (the SDK adds its own context lines around them)."""
    return [line for line in stderr.splitlines() if "tap-adaptive: error:" in line]


def run_cli(
    config: dict[str, Any], tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The tap as operators run it: its console script, config from a file."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [TAP, "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def adaptive(emulator: Any) -> EmulatorServer:
    """A small seeded instance (its unsupported method: exportDimensionMapping)."""
    return emulator("adaptive", seed=7, volume=40)
