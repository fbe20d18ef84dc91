"""Run tap-zendesk as operators do (own process, real HTTP) against the Zendesk emulator.

(No conftest/``__init__`` here: module names are unique so this folder can share a pytest run with
the other taps' tests.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TAP = str(Path(sys.executable).with_name("landing-tap-zendesk"))
EMAIL, API_TOKEN, ACCESS_TOKEN = "admin@main.example.com", "main-api-token", "main-oauth-token"


def tap_config(url: str, **overrides: Any) -> dict[str, Any]:
    """Config for the emulator at ``url``; retries bounded so failure tests end in about a second."""
    config: dict[str, Any] = {
        "subdomain": "acme",
        "api_url": f"{url}/api/v2",
        "email": EMAIL,
        "api_token": API_TOKEN,
        "start_date": "2023-01-01T00:00:00Z",
        "max_retry_seconds": 3,
        "rate_limit_default_wait": 0.3,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


@dataclass
class TapRun:
    """Outcome of one tap process: exit code, Singer messages, log."""

    returncode: int
    messages: list[dict[str, Any]]
    log: str
    stdout: str = field(repr=False)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def streams(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}

    def last_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def lines(self, level: str) -> list[str]:
        return [line for line in self.log.splitlines() if f"| {level}" in line]


def run_tap(
    tmp_path: Path,
    config: dict[str, Any],
    *args: str,
    state: dict[str, Any] | None = None,
    select: set[str] | None = None,
    deselect: dict[str, list[str]] | None = None,
    env: dict[str, str | None] | None = None,
) -> TapRun:
    """``tap-zendesk --config … [--catalog only `select`, minus `deselect` properties] [--state …] args``.

    ``env`` adds environment variables (proxies, CA bundles) to this process's own; None removes one.
    """
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [TAP, "--config", str(config_file), *args]
    if select is not None:
        command += ["--catalog", str(catalog(tmp_path, select, deselect or {}))]
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        command += ["--state", str(state_file)]
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=environment)
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"type"')]
    return TapRun(result.returncode, messages, result.stderr, result.stdout)


def catalog(tmp_path: Path, select: set[str], deselect: dict[str, list[str]]) -> Path:
    """The tap's own discovered catalog with only ``select`` streams, without ``deselect`` properties."""
    document = json.loads(discovered())
    for entry in document["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in select
            elif item["breadcrumb"][-1] in deselect.get(entry["tap_stream_id"], ()):
                item["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    return path


@cache
def discovered() -> str:
    """``--discover`` output: static (no network, no config needed), so one discovery serves every test."""
    return subprocess.run([TAP, "--discover"], capture_output=True, check=True, text=True).stdout


def by_key(records: list[dict[str, Any]], key: str = "id") -> dict[Any, dict[str, Any]]:
    """Records by primary key; later duplicates (page-boundary repeats) win, as an upsert would."""
    return {record[key]: record for record in records}
