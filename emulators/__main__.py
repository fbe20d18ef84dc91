"""Command line, one form for every emulator: ``python -m emulators serve <name> --port N --seed 1 --volume 200``.

``name`` is an HTTP emulator (zengrc, zendesk, adaptive) or ``xactly``, which is an H2 database reached by
JDBC rather than HTTP (its extra flags: ``--table``, ``--workdir``). On start it prints one JSON line
``{"name": ..., "url": ...}`` (an http:// or jdbc: URL; useful with ``--port 0``) and serves until interrupted.
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

#: Not HTTP: the Xactly emulator is an H2 database served over TCP and reached through a JDBC driver.
JDBC_EMULATORS = ("xactly",)


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
    serve = sub.add_parser("serve", help="serve one emulator")
    serve.add_argument("name", choices=sorted([*HTTP_EMULATORS, *JDBC_EMULATORS]))
    serve.add_argument("--host", default="127.0.0.1", help="HTTP emulators: address to listen on")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--volume", type=int, default=100, help="records per collection (xactly: rows per keyed table)")
    serve.add_argument("--faults", type=Path, help="HTTP emulators: JSON file with a fault plan")
    serve.add_argument("--option", type=_option, action="append", default=[], help="HTTP emulators: option key=value")
    serve.add_argument("--table", action="append", help="xactly: only these tables (repeatable)")
    serve.add_argument("--workdir", type=Path, help="xactly: database folder (default: a temporary one)")
    return parser


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def serve_xactly(args: argparse.Namespace) -> int:
    """Build and serve the Xactly emulator until interrupted."""
    from emulators.xactly import XactlyEmulator  # noqa: PLC0415 - keeps HTTP emulators free of it

    emu = XactlyEmulator(seed=args.seed, volume=args.volume, tables=args.table, workdir=args.workdir, port=args.port)
    emu.start()
    print(json.dumps({"name": "xactly", "url": emu.jdbc_url}), flush=True)
    try:
        _wait_for_signal()
    finally:
        emu.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    http_only = {"--faults": args.faults, "--option": args.option}
    xactly_only = {"--table": args.table, "--workdir": args.workdir}
    wrong = [flag for flag, value in (xactly_only if args.name in HTTP_EMULATORS else http_only).items() if value]
    if wrong:
        # Silently ignoring a flag would serve other data than the caller asked for.
        sys.stderr.write(f"emulators: {', '.join(wrong)} does not apply to the {args.name} emulator\n")
        return 2
    if args.name in JDBC_EMULATORS:
        return serve_xactly(args)
    faults = json.loads(args.faults.read_text()) if args.faults else None
    options = dict(args.option)
    reserved = sorted({"seed", "volume", "faults"} & options.keys())
    if reserved:
        # These have flags of their own; as --option they used to crash create() with a TypeError.
        flags = ", ".join(f"--{name}" for name in reserved)
        sys.stderr.write(f"emulators: use {flags} instead of --option {reserved[0]}=...\n")
        return 2
    emulator = create(args.name, seed=args.seed, volume=args.volume, faults=faults, **options)
    server = EmulatorServer(emulator, host=args.host, port=args.port).start()
    print(json.dumps({"name": args.name, "url": server.url}), flush=True)
    _wait_for_signal()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
