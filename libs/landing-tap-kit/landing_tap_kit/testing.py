"""Helpers for each tap's tests: the fast-path contract, catalogs with a chosen selection, the CLI in-process.

The contract (issue 14 §1): a tap that uses :class:`~landing_tap_kit.records.FastRecordStream` emits
exactly what the SDK's own path emits. :func:`compare_record_paths` runs the tap's real command twice on
the same input, once as shipped and once with ``LANDING_TAP_KIT_RECORD_PATH=sdk``, and compares every
message. Two runs differ only in what is a clock reading by design: ``time_extracted`` (dropped) and the
table version (``_initialized_at`` in seconds; replaced by its order of appearance).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass

from landing_tap_kit.records import RECORD_PATH_VARIABLE

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from singer_sdk import Tap


#: Network variables a developer's shell may carry; tests set the ones they need explicitly.
NETWORK_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


def clean_environment(**variables: str) -> dict[str, str]:
    """The current process's environment without network variables (either case), plus ``variables``."""
    names = {n for v in NETWORK_VARIABLES for n in (v, v.lower())}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(variables)
    return env


def catalog_selecting(
    catalog: Mapping[str, t.Any], streams: Iterable[str], *, deselect: Mapping[str, Iterable[str]] | None = None
) -> dict[str, t.Any]:
    """A copy of ``catalog`` selecting only ``streams``; ``deselect`` maps a stream to properties left out."""
    chosen = set(streams)
    left_out = {name: set(props) for name, props in (deselect or {}).items()}
    result = copy.deepcopy(dict(catalog))
    for entry in result["streams"]:
        name = entry["tap_stream_id"]
        for item in entry["metadata"]:
            breadcrumb = item["breadcrumb"]
            if breadcrumb == []:
                item["metadata"]["selected"] = name in chosen
            elif len(breadcrumb) == 2 and breadcrumb[0] == "properties":
                item["metadata"]["selected"] = breadcrumb[1] not in left_out.get(name, set())
    return result


@dataclass
class PathComparison:
    """What both runs emitted (normalised), and their exit codes."""

    fast: list[dict[str, t.Any]]
    sdk: list[dict[str, t.Any]]
    fast_returncode: int
    sdk_returncode: int

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        """The RECORD payloads of ``stream`` (from the fast run; equal to the SDK run's when the paths agree)."""
        return [m["record"] for m in self.fast if m["type"] == "RECORD" and m["stream"] == stream]


def normalise(messages: Iterable[dict[str, t.Any]], clock_keys: Iterable[str] = ()) -> list[dict[str, t.Any]]:
    """Messages without clock readings: ``time_extracted`` dropped, each table version replaced by its rank.

    ``clock_keys``: keys a tap writes the time of the run under in its state (e.g. ``last_successful_read_at``);
    their values are replaced by ``"<clock>"`` wherever they occur in a STATE message.
    """
    versions: dict[t.Any, int] = {}
    clocks = frozenset(clock_keys)
    result = []
    for message in messages:
        copied = dict(message)
        copied.pop("time_extracted", None)
        if "version" in copied:
            copied["version"] = versions.setdefault(copied["version"], len(versions))
        if clocks and copied.get("type") == "STATE":
            copied["value"] = _without_clocks(copied.get("value"), clocks)
        result.append(copied)
    return result


def _without_clocks(value: t.Any, clocks: frozenset[str]) -> t.Any:
    if isinstance(value, dict):
        return {k: "<clock>" if k in clocks else _without_clocks(v, clocks) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_clocks(item, clocks) for item in value]
    return value


def run_command(
    command: Sequence[str],
    workdir: Path,
    config: Mapping[str, t.Any],
    catalog: Mapping[str, t.Any],
    env: Mapping[str, str],
) -> tuple[int, list[dict[str, t.Any]], str]:
    """Run a tap command with ``config`` and ``catalog`` files; exit code, Singer messages, stderr."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.json"
    catalog_file = workdir / "catalog.json"
    config_file.write_text(json.dumps(config))
    catalog_file.write_text(json.dumps(catalog))
    result = subprocess.run(
        [*command, "--config", str(config_file), "--catalog", str(catalog_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(env),
    )
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, messages, result.stderr


def compare_record_paths(
    command: Sequence[str],
    workdir: Path,
    config: Mapping[str, t.Any],
    catalog: Mapping[str, t.Any],
    env: Mapping[str, str] | None = None,
    *,
    clock_keys: Iterable[str] = (),
) -> PathComparison:
    """Run ``command`` on the fast path and on the SDK's path with the same input; both outputs, normalised.

    The source must answer both runs alike (an emulator with a fixed seed, not advanced in between).
    ``clock_keys``: state keys holding the time of the run (see :func:`normalise`).
    """
    base = {k: v for k, v in (env or os.environ).items() if k != RECORD_PATH_VARIABLE}
    fast_code, fast, fast_log = run_command(command, workdir / "fast", config, catalog, base)
    sdk_code, sdk, sdk_log = run_command(
        command, workdir / "sdk", config, catalog, {**base, RECORD_PATH_VARIABLE: "sdk"}
    )
    if fast_code or sdk_code:
        msg = (
            f"tap failed (fast path exit {fast_code}, SDK path exit {sdk_code}):\n{fast_log[-2000:]}\n{sdk_log[-2000:]}"
        )
        raise AssertionError(msg)
    return PathComparison(normalise(fast, clock_keys), normalise(sdk, clock_keys), fast_code, sdk_code)


def invoke_cli(tap_class: type[Tap], args: Sequence[str]) -> int:
    """Run ``tap_class``'s command line in this process and end it as Python's top level would: the exit code.

    An exception that escapes the command goes to ``sys.excepthook`` (the one-line hook the tap installed),
    then counts as exit code 1, exactly what a real process does.
    """
    try:
        tap_class.cli(list(args))
    except SystemExit as exit_info:
        code = exit_info.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception:
        sys.excepthook(*sys.exc_info())
        return 1
    return 0
