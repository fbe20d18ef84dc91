"""``pii-hashed-tap``: run a tap so that its personal fields leave it only as keyed hashes.

Why a launcher and not a mapper step in the jobs: Meltano lets an operator run any extractor with
any loader (``meltano run tap-zengrc target-snowflake``, ``meltano invoke tap-zengrc``), and a
mapper is only in the pipe when the command names it. Every extractor with personal fields is
therefore defined with this launcher as its ``executable``: whatever the command, the tap's output
goes through the hashing below before anything else sees it (docs/privacy.md).

How it runs (the real tap's executable comes from ``PII_TAP_EXECUTABLE``, set by the plugin's
``env:`` in meltano.yml):

- ``--about``, ``--help``, ``--version``, ``--discover``: the tap is exec'd unchanged (no records).
- a sync: the extractor's own config (``--config`` files) holds ``hash_key`` and ``hash_fields``.
  Without a valid key the launcher refuses in one line, exit 1, before the tap starts. Otherwise
  the tap runs as a child with the same arguments; SCHEMA and RECORD messages of configured
  streams are hashed with :class:`~mapper_pii.hashing.MessageHasher` (the same code as the
  ``mapper-pii`` mapper), every other line is passed on as the tap wrote it, SIGTERM and SIGINT
  are forwarded, and the launcher exits with the tap's exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import msgspec

from mapper_pii.hashing import MessageHasher, PiiConfigError

NAME = "pii-hashed-tap"
TAP_VARIABLE = "PII_TAP_EXECUTABLE"
#: Arguments after which the tap emits no record: it replaces the launcher as is.
PASS_THROUGH = frozenset({"--about", "--help", "--version", "--discover"})


class LaunchError(Exception):
    """The tap cannot be started safely; the message is the one line the operator sees."""


def find_tap(environ: dict[str, str] | os._Environ[str]) -> str:
    """Resolve the real tap executable: next to this launcher (same venv) first, then on PATH."""
    name = environ.get(TAP_VARIABLE, "")
    if not name:
        msg = f"{TAP_VARIABLE} is not set: it names the tap executable this launcher runs"
        raise LaunchError(msg)
    search = os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        msg = f"{TAP_VARIABLE}={name}: no such executable in {Path(sys.executable).parent} or on PATH"
        raise LaunchError(msg)
    return found


def config_files(args: Sequence[str]) -> list[str]:
    """The ``--config`` files of a tap command line, in order (later files win, as in the SDK)."""
    files: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--config" and index + 1 < len(args):
            files.append(args[index + 1])
        elif arg.startswith("--config="):
            files.append(arg.removeprefix("--config="))
    return files


def hashing_from(args: Sequence[str]) -> MessageHasher:
    """Build the hashing from the tap's config files; refuse when it could let a raw value through."""
    config: dict[str, Any] = {}
    for file in config_files(args):
        if file == "ENV":
            msg = "--config ENV is not supported: hash_key and hash_fields must come from a config file"
            raise LaunchError(msg)
        try:
            loaded = json.loads(Path(file).read_text())
        except (OSError, ValueError) as exc:
            msg = f"cannot read config file {file}: {type(exc).__name__}"
            raise LaunchError(msg) from None
        if not isinstance(loaded, dict):
            msg = f"config file {file} is not a JSON object"
            raise LaunchError(msg)
        config.update(loaded)
    renaming = [setting for setting in ("stream_maps", "flattening_enabled") if config.get(setting)]
    if renaming:
        # The tap applies these before its output reaches the hashing: an aliased stream or a
        # flattened field (`primary_contact__name`) would no longer match its configured path.
        msg = f"refusing to start: {' and '.join(renaming)} would rename streams or fields before they are hashed"
        raise LaunchError(msg)
    key = config.get("hash_key") or ""
    if not key:
        msg = "refusing to start: hash_key is not set (export PII_HASH_KEY)"
        raise LaunchError(msg)
    if not isinstance(key, str):
        msg = "refusing to start: hash_key must be text"
        raise LaunchError(msg)
    try:
        return MessageHasher(key, config.get("hash_fields"))
    except PiiConfigError as exc:
        raise LaunchError(f"refusing to start: {exc}") from None


def hashed_lines(lines: IO[bytes], hashing: MessageHasher, write: Callable[[bytes], object]) -> None:
    """Copy the tap's output to ``write``, hashing the messages of configured streams.

    A line is only decoded when it contains a configured stream name in quotes: every message of
    such a stream does (ASCII stream names are never escaped in JSON), so no record can slip past,
    and everything else — other streams, most STATE lines — is passed on byte for byte.
    """
    # The SDK's own msgspec codec (what the mapper reads and writes with): numbers stay Decimal,
    # so a salary hashes from the text the tap wrote.
    from singer_sdk.contrib.msgspec import decoder, encoder  # noqa: PLC0415 - only a sync pays for it

    needles = [json.dumps(stream).encode() for stream in hashing.paths]
    for line in lines:
        if any(needle in line for needle in needles):
            message = decoder.decode(line)
            stream = message.get("stream") if isinstance(message, dict) else None
            if isinstance(stream, str) and stream in hashing.paths:
                hashing.hash_message(message)
                line = encoder.encode(message) + b"\n"  # noqa: PLW2901 - the hashed line replaces it
        write(line)


def run_sync(tap: str, args: Sequence[str], hashing: MessageHasher) -> int:
    """Run the tap as a child, hash its output onto our stdout, return its exit code."""
    child = subprocess.Popen([tap, *args], stdout=subprocess.PIPE)  # stdin, stderr: shared

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    out = sys.stdout.buffer
    assert child.stdout is not None
    try:
        with child.stdout:
            hashed_lines(child.stdout, hashing, out.write)
        out.flush()
    except (PiiConfigError, msgspec.DecodeError) as exc:
        # A configured field missing from the schema, a BATCH message, or a line that is not JSON:
        # nothing more of this stream may pass. Stop the tap, say why in one line.
        _stop(child)
        sys.stderr.write(f"{NAME}: {exc}\n")
        return 1
    except BrokenPipeError:
        _stop(child)
        sys.stderr.write(f"{NAME}: the loader stopped reading; tap stopped\n")
        return 1
    code = child.wait()
    return 128 - code if code < 0 else code


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pii-hashed-tap`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        tap = find_tap(os.environ)
        if PASS_THROUGH.intersection(arg.split("=", 1)[0] for arg in args):
            os.execv(tap, [tap, *args])  # noqa: S606 - the configured tap, with the caller's arguments
        hashing = hashing_from(args)
    except LaunchError as exc:
        sys.stderr.write(f"{NAME}: {exc}\n")
        return 1
    return run_sync(tap, args, hashing)


if __name__ == "__main__":
    sys.exit(main())
