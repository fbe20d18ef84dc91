from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from landing_tap_kit import testing

KIT = Path(__file__).resolve().parents[1]
SAMPLE_TAP = [sys.executable, "-m", "tests.sample_tap"]


def clean_environment(**variables: str) -> dict[str, str]:
    """The kit's network-free environment, with the sample tap importable from this folder."""
    return testing.clean_environment(**{"PYTHONPATH": str(KIT), **variables})


@dataclass
class Run:
    returncode: int
    messages: list[dict[str, Any]]
    log: str

    def records(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    def error_lines(self) -> list[str]:
        return [line for line in self.log.splitlines() if "| ERROR" in line]


@pytest.fixture
def sample_tap(tmp_path: Path):
    """``sample_tap(config, *args, env=None)``: the sample tap's command line in its own process."""

    def run(config: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> Run:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        result = subprocess.run(
            [*SAMPLE_TAP, "--config", str(config_file), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=KIT,
            env=env or clean_environment(),
        )
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        return Run(result.returncode, messages, result.stderr)

    return run
