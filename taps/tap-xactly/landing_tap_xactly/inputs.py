"""The --config, --state and --catalog files, judged before the SDK reads them.

The SDK parses them deep in its start-up, so a broken file ended in a bare ``JSONDecodeError`` or a
``TypeError`` line naming no file. Each file is read here first; the first problem becomes one line
naming the option, the file and what is wrong. Values are never quoted (a config file holds secrets).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from landing_tap_xactly.errors import ConfigError

OPTIONS = ("--config", "--state", "--catalog")


def file_options(argv: Sequence[str]) -> list[tuple[str, str]]:
    """``(option, path)`` for every file option on the command line (``--opt path`` or ``--opt=path``)."""
    found = []
    for index, arg in enumerate(argv):
        option, equals, value = arg.partition("=")
        if option not in OPTIONS:
            continue
        if not equals:
            if index + 1 == len(argv):
                continue  # click reports a missing value itself
            value = argv[index + 1]
        if not (option == "--config" and value == "ENV"):
            found.append((option, value))
    return found


def read(option: str, path: str) -> Any:
    """The file's JSON, or :class:`ConfigError` naming the option and file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{option} {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{option} {path} is a directory, not a JSON file") from None
    except PermissionError:
        raise ConfigError(f"{option} {path} cannot be read: permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{option} {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{option} {path} is not valid JSON: {exc}") from None


def shape_problem(option: str, document: Any) -> str | None:
    """What makes a parsed file unusable for ``option``, or None."""
    if not isinstance(document, dict):
        return f"is not a JSON object (found {type(document).__name__})"
    if option == "--state":
        bookmarks = document.get("bookmarks", {})
        if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
            return 'is not a Singer state: "bookmarks" must map stream names to objects'
    if option == "--catalog":
        streams = document.get("streams")
        if not isinstance(streams, list):
            return 'is not a Singer catalog: "streams" must be a list'
        for index, entry in enumerate(streams):
            if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
                return f'is not a Singer catalog: stream #{index + 1} has no "tap_stream_id"'
            if not isinstance(entry.get("schema"), dict):
                return f'is not a Singer catalog: stream {entry["tap_stream_id"]} has no "schema" object'
            if not isinstance(entry.get("metadata", []), list):
                return f'is not a Singer catalog: stream {entry["tap_stream_id"]}: "metadata" must be a list'
    return None


def check(argv: Sequence[str]) -> None:
    """Raise :class:`ConfigError` for the first unusable file on the command line."""
    for option, path in file_options(argv):
        problem = shape_problem(option, read(option, path))
        if problem:
            raise ConfigError(f"{option} {path} {problem}")
