from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).resolve().parents[1]
SAMPLE_TAP = [sys.executable, "-m", "tests.sample_tap"]
NETWORK_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without network variables (either case), plus ``variables``."""
    names = {n for v in NETWORK_VARIABLES for n in (v, v.lower())}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["PYTHONPATH"] = str(KIT)
    env.update(variables)
    return env


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
