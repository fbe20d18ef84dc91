"""A stand-in tap for the launcher tests: records how it was called, prints given lines, exits as told.

FAKE_TAP_LOG: file that receives one JSON line per event (argv at start, the signal it got);
FAKE_TAP_OUTPUT: file whose bytes are written to stdout as they are; FAKE_TAP_EXIT: exit code;
FAKE_TAP_WAIT_FOR_SIGNAL: after the output, wait until SIGTERM/SIGINT arrives, log it, exit 143/130.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def log(event: dict) -> None:
    with Path(os.environ["FAKE_TAP_LOG"]).open("a") as file:
        file.write(json.dumps(event) + "\n")


def stop(signum: int, _frame: object) -> None:
    log({"signal": signal.Signals(signum).name})
    sys.exit(128 + signum)


log({"argv": sys.argv[1:]})
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
output = os.environ.get("FAKE_TAP_OUTPUT")
if output:
    sys.stdout.buffer.write(Path(output).read_bytes())
    sys.stdout.flush()
if os.environ.get("FAKE_TAP_WAIT_FOR_SIGNAL"):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
    log({"signal": None})
sys.exit(int(os.environ.get("FAKE_TAP_EXIT", "0")))
