"""The files a run is given (--config, --state, --catalog), judged before the SDK reads them.

The SDK reads them deep inside its startup, so a garbage file ends in a traceback or in a line that
does not say which file is wrong, and a catalog that selects a stream the tap does not have loads
nothing and exits 0. Here each file is read once and judged by its shape; the first problem becomes
an :class:`InputFileError` whose message names the option and the file. Values are never echoed
(a config file holds secrets).
"""

from __future__ import annotations

import json
import typing as t
from decimal import Decimal, InvalidOperation
from pathlib import Path

from singer_sdk.singerlib import Catalog

if t.TYPE_CHECKING:
    from collections.abc import Sequence


class InputFileError(ValueError):
    """A --config/--state/--catalog file that cannot be used; the message names the option, the file, the problem."""


def json_kind(value: t.Any) -> str:
    """``an object``, ``a list``…: how a message names what a file holds instead of what it should."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def load(option: str, path: str) -> t.Any:
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
    except OSError as exc:
        raise InputFileError(f"{option} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{option} {path} is not valid JSON: {exc}") from None


def check_config(path: str, document: t.Any) -> dict[str, t.Any]:
    """A config file is one JSON object (settings by name)."""
    if not isinstance(document, dict):
        raise InputFileError(f"--config {path} must hold a JSON object of settings, not {json_kind(document)}")
    return document


def check_state(path: str, document: t.Any) -> dict[str, t.Any]:
    """A state file is a JSON object; its ``bookmarks``, when present, an object of objects."""
    if not isinstance(document, dict):
        raise InputFileError(f"--state {path} must hold a JSON object (Singer state), not {json_kind(document)}")
    bookmarks = document.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise InputFileError(f"--state {path}: 'bookmarks' must be an object of streams, not {json_kind(bookmarks)}")
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            msg = f"--state {path}: the bookmark of stream '{stream}' must be an object, not {json_kind(bookmark)}"
            raise InputFileError(msg)
    return document


def selected_streams(path: str, document: t.Any) -> list[str]:
    """The streams a catalog selects, after checking its shape; selection resolved as the SDK resolves it."""
    if not isinstance(document, dict) or not isinstance(document.get("streams"), list):
        found = json_kind(document.get("streams")) if isinstance(document, dict) else json_kind(document)
        raise InputFileError(f"--catalog {path} must be a JSON object with a 'streams' list, not {found}")
    for position, entry in enumerate(document["streams"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise InputFileError(f"--catalog {path}: streams[{position}] has no 'tap_stream_id' string")
    try:
        catalog = Catalog.from_dict(document)
        return [entry.tap_stream_id for entry in catalog.streams if entry.metadata.resolve_selection()[()]]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"--catalog {path} is not a Singer catalog: {type(exc).__name__}: {exc}") from None


def check_catalog(path: str, document: t.Any, known_streams: Sequence[str], tap_name: str) -> list[str]:
    """Check a catalog's shape and its stream names; return the selected streams.

    A selected stream this tap does not have is an error (a typo would otherwise load nothing and
    exit 0); an unselected unknown one is ignored, as the SDK does.
    """
    selected = selected_streams(path, document)
    unknown = [name for name in selected if name not in known_streams]
    if unknown:
        raise InputFileError(
            f"--catalog {path} selects stream(s) {tap_name} does not have: {', '.join(unknown)} "
            f"(it has: {', '.join(sorted(known_streams))})"
        )
    return selected


def coerce_numbers(config: dict[str, t.Any], integers: Sequence[str], numbers: Sequence[str]) -> list[str]:
    """Turn what Meltano or a hand-written file sends ("2.5", 2.5, Decimal) into JSON numbers, in place.

    Meltano 4.4 cannot pass a ``kind: decimal`` setting (it JSON-encodes a Decimal and crashes), so taps
    declare such settings as strings. Returns one sentence per setting that is not a number at all (or
    not whole where whole numbers are asked for), naming the setting.
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
