"""Command line: ``python -m emulators serve zengrc --port 8711 --seed 1 --volume 200``.

On start it prints one JSON line ``{"name": ..., "url": ...}`` (useful with ``--port 0``) and serves
until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from emulators.core.server import EmulatorServer
from emulators.registry import HTTP_EMULATORS, create


def _option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep:
        msg = f"--option expects key=value, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the emulator CLI."""
    parser = argparse.ArgumentParser(prog="emulators", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve one HTTP emulator")
    serve.add_argument("name", choices=sorted(HTTP_EMULATORS))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--volume", type=int, default=100, help="records per collection")
    serve.add_argument("--faults", type=Path, help="JSON file with a fault plan")
    serve.add_argument("--option", type=_option, action="append", default=[], help="source option key=value")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    faults = json.loads(args.faults.read_text()) if args.faults else None
    emulator = create(args.name, seed=args.seed, volume=args.volume, faults=faults, **dict(args.option))
    server = EmulatorServer(emulator, host=args.host, port=args.port).start()
    print(json.dumps({"name": args.name, "url": server.url}), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
