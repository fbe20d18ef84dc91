"""The one line of a failed run's log that says why it failed, for the run history and the report.

A failed ``meltano run`` ends with Meltano's own generic lines ("Extractor failed", "Block run completed");
the cause is the plugin's one-line error before them (DESIGN.md: bad input ends in one clear line). Plugin
lines are what Meltano prints after the plugin name; SDK plugins log ``ERROR <message>``
(utilities/logging/quiet.yml) and the pii-hashed-tap launcher ``pii-hashed-tap: <message>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: ``<timestamp> [<level>] <name> <message>``: Meltano's console format (colour off or stripped).
_MELTANO_LINE = re.compile(r"^\S+\s+\[(?P<level>\w+)\s*\]\s+(?P<name>\S+)\s+(?P<message>.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PLUGIN_ERROR = re.compile(r"^(ERROR|CRITICAL)\s|^[\w.-]+: (error|refusing)|^pii-hashed-tap: |Traceback|Error: ")
#: Meltano's wrap-up after any failure: true, but never the reason.
_GENERIC = ("Extractor failed", "Loader failed", "Mapper failed", "Block run completed", "Run completed")
_LEVEL_WORD = re.compile(r"^(ERROR|CRITICAL)\s+")
#: A message that already names who speaks (``tap-zengrc: error: ...``) is kept as it is.
_NAMED = re.compile(r"^[\w.-]+: ")
MAX_LENGTH = 500


def last_error_line(lines: Iterable[str]) -> str | None:
    """The last plugin error line of a run's output, else Meltano's last error line, else ``None``."""
    plugin_error: str | None = None
    meltano_error: str | None = None
    for raw in lines:
        line = _ANSI.sub("", raw).rstrip()
        match = _MELTANO_LINE.match(line)
        if match is None:
            continue
        level, name, message = match["level"].lower(), match["name"], match["message"].strip()
        if name != "meltano" and (level in {"error", "critical"} or _PLUGIN_ERROR.search(message)):
            message = _LEVEL_WORD.sub("", message)
            plugin_error = message if _NAMED.match(message) else f"{name}: {message}"
        elif name == "meltano" and level in {"error", "critical"} and not message.startswith(_GENERIC):
            meltano_error = message
    found = plugin_error or meltano_error
    return found[:MAX_LENGTH] if found else None
