from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MAPPER = str(Path(sys.executable).with_name("mapper-pii"))
KEY = "test-key-0123456789abcdef"


@dataclass
class MapperRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)


@pytest.fixture
def run_mapper(tmp_path: Path):
    """``run_mapper(config, messages)``: the installed ``mapper-pii`` CLI over Singer messages on stdin."""

    def run(config: dict[str, Any], messages: Iterable[dict[str, Any]]) -> MapperRun:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config))
        stdin = "".join(json.dumps(message) + "\n" for message in messages)
        done = subprocess.run(
            [MAPPER, "--config", str(config_path)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return MapperRun(done.returncode, done.stdout, done.stderr)

    return run
