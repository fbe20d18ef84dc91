"""The report's judgements as functions: freshness colours at the edges, and which log line is "the error"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from utilities.checks.report import freshness
from utilities.checks.runlog import last_error_line

EIGHT_HOURLY = "0 */8 * * *"
GRACE = timedelta(minutes=60)


@pytest.mark.parametrize(
    ("now", "last_load", "colour"),
    [
        # loaded by the 08:00 run: fresh until the 16:00 run is due
        (datetime(2026, 3, 11, 15, 59, tzinfo=UTC), datetime(2026, 3, 11, 8, 20, tzinfo=UTC), "green"),
        # 16:00 run due, within its hour of grace: amber, not yet an alert
        (datetime(2026, 3, 11, 16, 30, tzinfo=UTC), datetime(2026, 3, 11, 8, 20, tzinfo=UTC), "amber"),
        # grace over: what `checks freshness` alerts on
        (datetime(2026, 3, 11, 17, 1, tzinfo=UTC), datetime(2026, 3, 11, 8, 20, tzinfo=UTC), "red"),
        (datetime(2026, 3, 11, 17, 1, tzinfo=UTC), None, "red"),
    ],
)
def test_freshness_colours(now, last_load, colour) -> None:
    assert freshness(last_load, EIGHT_HOURLY, now, GRACE) == colour


def meltano_line(level: str, name: str, message: str) -> str:
    return f"2026-11-30T14:04:12.049461Z [{level:<9}] {name:<12} {message}\n"


def test_the_plugins_one_line_error_wins_over_meltanos_wrap_up() -> None:
    lines = [
        meltano_line("info", "tap-zengrc", "people: 250 records in 0.1s, state saved"),
        meltano_line("info", "tap-zengrc", "ERROR tap-zengrc: error: ZenGRC rejected the API key (HTTP 401)"),
        meltano_line("error", "meltano", "Extractor failed"),
        meltano_line("error", "meltano", "Block run completed"),
    ]
    assert last_error_line(lines) == "tap-zengrc: error: ZenGRC rejected the API key (HTTP 401)"


def test_the_launchers_refusal_is_an_error_line() -> None:
    refusal = "pii-hashed-tap: refusing to start: hash_key is not set (export PII_HASH_KEY)"
    lines = [
        meltano_line(
            "info", "tap-xactly", "pii-hashed-tap: refusing to start: hash_key is not set (export PII_HASH_KEY)"
        ),
        meltano_line("error", "meltano", "Extractor failed"),
    ]
    assert last_error_line(lines) == refusal


def test_without_a_plugin_error_meltanos_own_error_is_kept_and_colour_codes_dropped() -> None:
    lines = [
        "\x1b[2m2026-11-30T14:04:12Z\x1b[0m [\x1b[31merror    \x1b[0m] meltano      Block 'tap-nope' not found\n",
        meltano_line("error", "meltano", "Run completed"),
    ]
    assert last_error_line(lines) == "Block 'tap-nope' not found"


def test_a_clean_log_has_no_error_line() -> None:
    assert last_error_line([meltano_line("info", "meltano", "Run completed")]) is None
