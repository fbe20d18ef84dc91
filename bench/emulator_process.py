"""Serve an HTTP emulator in its own process, so tap and server each get a core."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served(name: str, *args: str) -> Iterator[str]:
    """Start ``python -m emulators serve <name> --port 0 <args>`` and yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators", "serve", name, "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            msg = f"emulator {name} exited before serving"
            raise RuntimeError(msg)
        yield str(json.loads(line)["url"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
