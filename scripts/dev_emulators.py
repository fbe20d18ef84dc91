"""``make emulators-up`` / ``make emulators-down``: the dev emulators in the background, for operator commands.

``meltano invoke tap-xactly --discover``, ``meltano run zengrc-to-warehouse`` and the like read the ``dev``
environment, whose extractors point at local emulators on fixed ports (meltano.yml). ``make demo`` starts
them only for its own run; this starts all five the same way and leaves them running until ``down``.

    python scripts/dev_emulators.py up      # start all, wait until each serves, record their pids
    python scripts/dev_emulators.py status  # which are running
    python scripts/dev_emulators.py down    # stop the ones ``up`` started

Logs go to ``output/emulators/<name>-<port>.log``; the pids to ``output/emulators/running.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / "output" / "emulators"
START_TIMEOUT_SECONDS = 180  # the Xactly emulator builds its H2 database through a JVM first


@dataclass(frozen=True)
class DevEmulator:
    """One emulator of the dev environment: the port meltano.yml's dev config points at, and its data."""

    name: str
    port: int
    arguments: tuple[str, ...]

    @property
    def label(self) -> str:
        """Unique per emulator (two Zendesk accounts share a name)."""
        return f"{self.name}-{self.port}"


#: Ports and data as meltano.yml's dev environment and scripts/demo.py expect them
#: (tests/test_publishing.py holds the three together).
DEV_EMULATORS: tuple[DevEmulator, ...] = (
    DevEmulator("zengrc", 8711, ("--seed", "1", "--volume", "250")),
    DevEmulator("zendesk", 8712, ("--seed", "1", "--volume", "200")),
    DevEmulator("zendesk", 8713, ("--seed", "2", "--volume", "80", "--option", "account=community")),
    DevEmulator("adaptive", 8714, ("--seed", "1", "--volume", "200")),
    DevEmulator("xactly", 8715, ("--seed", "1", "--volume", "200")),
)


def port_in_use(port: int) -> bool:
    """Whether something already listens on the loopback port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Whether ``pid`` is still one of our emulator processes (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"emulators" in cmdline and b"serve" in cmdline


def read_state(state: Path) -> list[dict[str, object]]:
    """The emulators ``up`` recorded, or none."""
    if not state.exists():
        return []
    recorded: list[dict[str, object]] = json.loads(state.read_text())
    return recorded


def wait_started(log: Path, process: subprocess.Popen[bytes], label: str) -> str:
    """Each emulator prints one JSON line with its URL once it serves; return that URL."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                return str(json.loads(line)["url"])
        if process.poll() is not None:
            tail = (log.read_text(errors="replace").strip().splitlines() or ["(no output)"])[-1]
            msg = f"emulator {label} exited with {process.returncode}: {tail} (log: {log})"
            raise SystemExit(msg)
        time.sleep(0.2)
    msg = f"emulator {label} did not start within {START_TIMEOUT_SECONDS} s (log: {log})"
    raise SystemExit(msg)


def up(state: Path, port_offset: int) -> int:
    """Start every dev emulator in the background and wait until each serves."""
    running = [entry for entry in read_state(state) if alive(int(str(entry["pid"])))]
    if running:
        labels = ", ".join(str(entry["label"]) for entry in running)
        print(f"dev emulators already running ({labels}); stop them with: make emulators-down")
        return 0
    busy = [f"{e.port + port_offset} ({e.label})" for e in DEV_EMULATORS if port_in_use(e.port + port_offset)]
    if busy:
        print(f"dev emulators: port {', '.join(busy)} already in use (make demo running?)", file=sys.stderr)
        return 1
    state.parent.mkdir(parents=True, exist_ok=True)
    started: list[tuple[DevEmulator, subprocess.Popen[bytes], Path]] = []
    for emulator in DEV_EMULATORS:
        port = emulator.port + port_offset
        log = state.parent / f"{emulator.name}-{port}.log"
        cmd = [sys.executable, "-m", "emulators", "serve", emulator.name, "--port", str(port), *emulator.arguments]
        with log.open("wb") as sink:
            # A session of its own: the emulators outlive this command and a Ctrl-C in the caller's terminal.
            process = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=sink, start_new_session=True)
        started.append((emulator, process, log))
    records = []
    try:
        for emulator, process, log in started:
            url = wait_started(log, process, emulator.label)
            records.append({"label": emulator.label, "pid": process.pid, "url": url, "log": str(log)})
            print(f"{emulator.label}: {url}")
    except SystemExit:
        for _, process, _ in started:
            process.terminate()
        for _, process, _ in started:
            process.wait(timeout=30)
        raise
    state.write_text(json.dumps(records, indent=2) + "\n")
    print(f"dev emulators up ({len(records)}); stop them with: make emulators-down")
    return 0


def down(state: Path) -> int:
    """Stop what ``up`` started (SIGTERM, then SIGKILL after 30 s) and forget it."""
    recorded = read_state(state)
    if not recorded:
        print("dev emulators: none recorded as running")
        return 0
    pids = [int(str(entry["pid"])) for entry in recorded if alive(int(str(entry["pid"])))]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    state.unlink()
    print(f"dev emulators down ({len(pids)} stopped)")
    return 0


def status(state: Path) -> int:
    """Print each recorded emulator and whether it still runs; exit 1 when any has died."""
    recorded = read_state(state)
    for entry in recorded:
        print(f"{entry['label']}: {'running' if alive(int(str(entry['pid']))) else 'NOT running'} {entry['url']}")
    if not recorded:
        print("dev emulators: none recorded as running")
    return 0 if all(alive(int(str(e["pid"]))) for e in recorded) else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state", type=Path, default=STATE_DIR / "running.json", help="where pids are recorded")
    parser.add_argument("--port-offset", type=int, default=0, help="add to every port (tests; dev config uses 0)")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.state, args.port_offset)
    if args.command == "down":
        return down(args.state)
    return status(args.state)


if __name__ == "__main__":
    sys.exit(main())
