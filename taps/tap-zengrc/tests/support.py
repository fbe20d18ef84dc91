"""Helpers: run tap-zengrc as operators do (its own process, real HTTP) against the ZenGRC emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landing_tap_kit.testing import clean_environment

from emulators.zengrc import DEFAULT_KEY_ID as KEY_ID
from emulators.zengrc import DEFAULT_KEY_SECRET as KEY_SECRET

TAP = str(Path(sys.executable).with_name("landing-tap-zengrc"))


def tap_config(url: str, **overrides: Any) -> dict[str, Any]:
    """Config for the emulator at ``url`` with fast retries (tests must not sleep for seconds)."""
    return {
        "api_url": f"{url}/api/v2",
        "username": KEY_ID,
        "password": KEY_SECRET,
        "retry_base_seconds": 0.01,
        "max_retries": 3,
        **overrides,
    }


@dataclass
class TapRun:
    """Outcome of one tap process: exit code, Singer messages, log lines."""

    returncode: int
    messages: list[dict[str, Any]]
    log: str
    stdout: str = field(repr=False)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def error_lines(self) -> list[str]:
        return [line for line in self.log.splitlines() if "| ERROR" in line]


def run_tap(
    tmp_path: Path,
    config: dict[str, Any],
    *args: str,
    state: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> TapRun:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [TAP, "--config", str(config_file), *args]
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        command += ["--state", str(state_file)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env=env or clean_environment()
    )
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"type"')]
    return TapRun(result.returncode, messages, result.stderr, result.stdout)


def catalog_selecting(directory: Path, *streams: str) -> str:
    """Path of a catalog (the tap's own discovery) in which only ``streams`` are selected."""
    from landing_tap_zengrc.tap import TapZenGRC  # noqa: PLC0415 - keeps the helper module light to import

    catalog = TapZenGRC(config=tap_config("http://unused"), validate_config=True).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    path = directory / f"catalog-{'-'.join(streams) or 'none'}.json"
    path.write_text(json.dumps(catalog))
    return str(path)
