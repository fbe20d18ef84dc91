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
- while it copies, it counts each stream's messages (``progress.py``): a progress line per busy
  stream every ``PII_PROGRESS_SECONDS`` (default 5) and, after the tap exits cleanly, one summary
  line per stream on stderr, which is what an operator reads of a run (issue 15).
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
from mapper_pii.progress import PROGRESS_SECONDS, RunTally

NAME = "pii-hashed-tap"
TAP_VARIABLE = "PII_TAP_EXECUTABLE"
PROGRESS_VARIABLE = "PII_PROGRESS_SECONDS"
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


#: How the SDK's writers start every message: ``{"type":"RECORD","stream":"people",...}``.
_TYPE_PREFIX = b'{"type":"'
_STREAM_KEY = b'","stream":"'
_RECORD_PREFIX = b'{"type":"RECORD","stream":"'


def message_header(line: bytes) -> tuple[bytes, bytes | None] | None:
    """The Singer type and stream name of a line, read from its first bytes without parsing it.

    Every SDK writer (simplejson and msgspec alike) writes ``type`` first and ``stream`` second,
    compactly, so two ``find`` calls give both. ``None`` when the line does not start that way (a
    hand-written tap, spaces after colons): the caller then parses the line, so an unusual shape
    costs time, never correctness. A stream name with an escape in it is also left to the parser.
    A STATE message, the one kind without a stream, gives ``(b"STATE", None)``.
    """
    if not line.startswith(_TYPE_PREFIX):
        return None
    type_end = line.find(b'"', len(_TYPE_PREFIX))
    if type_end < 0:
        return None
    kind = line[len(_TYPE_PREFIX) : type_end]
    if not line.startswith(_STREAM_KEY, type_end):
        # Only a STATE message has no stream; any other shape is parsed, so no record can pass
        # as stream-less (and unhashed) because of an unusual spacing.
        return (kind, None) if kind == b"STATE" else None
    name_start = type_end + len(_STREAM_KEY)
    name_end = line.find(b'"', name_start)
    if name_end < 0 or b"\\" in line[name_start:name_end]:
        return None
    return kind, line[name_start:name_end]


class _Codec:
    """The SDK's own msgspec codec (what the mapper reads and writes with), imported at the first parse.

    Numbers stay Decimal, so a salary hashes from the text the tap wrote. Importing it imports all of
    singer_sdk (about a second, more on a busy machine): a run whose lines are all of streams without
    personal fields never needs it and never pays for it.
    """

    def __init__(self) -> None:
        self._pair: tuple[Any, Any] | None = None

    def _codec(self) -> tuple[Any, Any]:
        if self._pair is None:
            from singer_sdk.contrib.msgspec import decoder, encoder  # noqa: PLC0415 - see the class docstring

            self._pair = (decoder, encoder)
        return self._pair

    def decode(self, line: bytes) -> Any:
        """The message a line holds (msgspec.DecodeError when it is not JSON)."""
        return self._codec()[0].decode(line)

    def encode(self, message: Any) -> bytes:
        """The compact JSON of a message, without its newline."""
        encoded: bytes = self._codec()[1].encode(message)
        return encoded


def hashed_lines(
    lines: IO[bytes], hashing: MessageHasher, write: Callable[[bytes], object], tally: RunTally | None = None
) -> None:
    """Copy the tap's output to ``write``, hashing the messages of configured streams.

    Each line's type and stream come from its first bytes (:func:`message_header`): lines of streams
    without personal fields, STATE and ACTIVATE_VERSION pass on byte for byte without being parsed;
    only messages of configured streams are decoded, hashed and re-encoded. A BATCH message of a
    stream without personal fields passes too (its files hold nothing to hash, e.g. Adaptive's
    exportData); one of a configured stream is refused by :class:`MessageHasher`, since its files
    would carry the raw values past this process.

    The RECORD of a stream without personal fields is nearly every line of a big job, so it has its own
    few-operation path: one prefix test, one ``find``, the count, the write.
    """
    codec = _Codec()
    tally = tally if tally is not None else RunTally(write=lambda _text: None)
    hashed_streams = {stream.encode() for stream in hashing.paths}
    # Stream name as written -> whether it is hashed; a name with an escape in it is never cached, so
    # its lines take the parsing path (what the bytes spell is then not the name itself).
    hashed_by_name: dict[bytes, bool] = {}
    records, last_seen, clock = tally.records, tally.last_seen, tally.clock
    record_prefix, name_start = _RECORD_PREFIX, len(_RECORD_PREFIX)
    next_check = tally.next_check
    for line in lines:
        if line.startswith(record_prefix):
            name_end = line.find(b'"', name_start)
            stream = line[name_start:name_end] if name_end > 0 else b""
            hashed = hashed_by_name.get(stream)
            if hashed is None and stream and b"\\" not in stream:
                hashed = hashed_by_name[stream] = stream in hashed_streams
            if hashed is not None:
                now = clock()
                records[stream] = records.get(stream, 0) + 1
                last_seen[stream] = now
                if now >= next_check:
                    tally.first_seen.setdefault(stream, now)
                    next_check = tally.progress(now)
                if hashed:
                    message = codec.decode(line)
                    hashing.hash_message(message)
                    line = codec.encode(message) + b"\n"  # noqa: PLW2901 - the hashed line replaces it
                write(line)
                continue
        write(_any_message(line, hashing, hashed_streams, tally, codec))
        next_check = tally.next_check


def _any_message(
    line: bytes, hashing: MessageHasher, hashed_streams: set[bytes], tally: RunTally, codec: _Codec
) -> bytes:
    """Every line but a RECORD of a stream without personal fields: hash it if its stream has any, count it."""
    header = message_header(line)
    message: Any = None
    if header is None:
        message = codec.decode(line)
        stream_name = message.get("stream") if isinstance(message, dict) else None
        kind = str(message.get("type", "")).encode() if isinstance(message, dict) else b""
        stream = stream_name.encode() if isinstance(stream_name, str) else None
    else:
        kind, stream = header
    if stream is not None and stream in hashed_streams:
        if message is None:
            message = codec.decode(line)
        hashing.hash_message(message)
        line = codec.encode(message) + b"\n"
    if stream is not None:
        if kind == b"BATCH":
            batch = message if message is not None else codec.decode(line)
            tally.batch(stream, len(batch.get("manifest") or []))
        else:
            tally.seen(stream, kind)
    elif kind == b"STATE":
        tally.last_state = line
    return line


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
    tally = RunTally(write=_to_stderr, every=progress_seconds(os.environ))
    try:
        with child.stdout:
            hashed_lines(child.stdout, hashing, out.write, tally)
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
    if code == 0:
        # Only after a clean exit: after a failure the tap's own error line stays the last one.
        for line in tally.summary():
            _to_stderr(line)
    return 128 - code if code < 0 else code


def progress_seconds(environ: dict[str, str] | os._Environ[str]) -> float:
    """Seconds between progress lines of one stream: ``PII_PROGRESS_SECONDS``, else the default."""
    try:
        return max(0.0, float(environ.get(PROGRESS_VARIABLE) or PROGRESS_SECONDS))
    except ValueError:
        return PROGRESS_SECONDS


def _to_stderr(text: str) -> None:
    """Progress and summary lines, flushed at once so Meltano shows them while the tap runs."""
    sys.stderr.write(text)
    sys.stderr.flush()


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
