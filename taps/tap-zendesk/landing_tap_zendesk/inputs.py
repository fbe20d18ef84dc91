"""The files a run is given (--config, --state, --catalog), checked before the SDK reads them.

The SDK reads them deep inside its startup, so a garbage file ends in a traceback or in a line that
does not say which file is wrong. Here each is read once up front and judged by its shape; the first
problem becomes one sentence naming the option and the file. Values are never echoed (a config file
holds secrets).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

#: Options whose value is a JSON file (``--config ENV`` means "environment", not a file).
FILE_OPTIONS = ("--config", "--state", "--catalog")


class InputFileError(ValueError):
    """A --config/--state/--catalog file that cannot be used; the message names it."""


def file_arguments(args: Sequence[str]) -> list[tuple[str, str]]:
    """(option, path) pairs from a command line, in order; both ``--opt value`` and ``--opt=value``."""
    found = []
    for index, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option not in FILE_OPTIONS:
            continue
        if not equals:
            if index + 1 >= len(args):
                continue  # click reports the missing value itself
            value = args[index + 1]
        if option == "--config" and value == "ENV":
            continue
        found.append((option, value))
    return found


def load(option: str, path: str) -> Any:
    """The parsed JSON of ``path``, or :class:`InputFileError` naming the option, file and problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{option} {path} does not exist") from None
    except IsADirectoryError:
        raise InputFileError(f"{option} {path} is a directory, not a JSON file") from None
    except PermissionError:
        raise InputFileError(f"{option} {path} cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{option} {path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{option} {path} is not valid JSON: {exc}") from None


def check_config(path: str, document: Any) -> None:
    """A config file is one JSON object (settings by name)."""
    if not isinstance(document, dict):
        raise InputFileError(f"--config {path} must hold a JSON object of settings, not {_kind(document)}")


def check_state(path: str, document: Any) -> None:
    """A state file is a JSON object; its ``bookmarks``, when present, an object of objects."""
    if not isinstance(document, dict):
        raise InputFileError(f"--state {path} must hold a JSON object (Singer state), not {_kind(document)}")
    bookmarks = document.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise InputFileError(f"--state {path}: 'bookmarks' must be an object, not {_kind(bookmarks)}")
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            msg = f"--state {path}: bookmark of stream '{stream}' must be an object, not {_kind(bookmark)}"
            raise InputFileError(msg)


def check_catalog(path: str, document: Any, known_streams: Sequence[str]) -> list[str]:
    """Check a catalog's shape and its stream names; return the selected streams.

    A selected stream this tap does not have is an error (a typo would otherwise load nothing and
    exit 0); an unselected unknown one is ignored, as the SDK does.
    """
    if not isinstance(document, dict) or not isinstance(document.get("streams"), list):
        raise InputFileError(f"--catalog {path} must be a JSON object with a 'streams' list, not {_kind(document)}")
    selected: list[str] = []
    unknown: list[str] = []
    for position, entry in enumerate(document["streams"]):
        name = entry.get("tap_stream_id") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise InputFileError(f"--catalog {path}: entry {position} of 'streams' has no 'tap_stream_id'")
        if not _is_selected(entry):
            continue
        (selected if name in known_streams else unknown).append(name)
    if unknown:
        raise InputFileError(
            f"--catalog {path} selects stream(s) this tap does not have: {', '.join(unknown)} "
            f"(tap-zendesk has: {', '.join(known_streams)})"
        )
    return selected


def _is_selected(entry: Mapping[str, Any]) -> bool:
    """Whether the catalog entry selects its stream (root metadata ``selected``; legacy top-level key)."""
    for item in entry.get("metadata") or ():
        if isinstance(item, dict) and item.get("breadcrumb") == [] and isinstance(item.get("metadata"), dict):
            return bool(item["metadata"].get("selected", item["metadata"].get("selected-by-default", False)))
    return bool(entry.get("selected", False))


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def coerce_numbers(config: dict[str, Any], integers: Sequence[str], numbers: Sequence[str]) -> list[str]:
    """Turn what Meltano or a hand-written file sends ("2.5", 2.5, Decimal) into JSON numbers, in place.

    Returns one sentence per setting that is not a number at all (or not whole where whole seconds
    are asked for), naming the setting.
    """
    problems = []
    for name in (*integers, *numbers):
        value = config.get(name)
        if value is None or isinstance(value, bool):
            continue
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            problems.append(f"'{name}' must be a number, got {value!r}")
            continue
        if not number.is_finite():
            problems.append(f"'{name}' must be a finite number, got {value!r}")
        elif name in integers:
            if number != number.to_integral_value():
                problems.append(f"'{name}' must be a whole number, got {value!r}")
            else:
                config[name] = int(number)
        else:
            config[name] = int(number) if number == number.to_integral_value() else float(number)
    return problems
