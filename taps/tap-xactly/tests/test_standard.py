"""The Singer SDK's standard tap tests, against a small emulator started for this module.

The SDK builds its test class from a config at import time, so the emulator starts here (stopped at exit).
"""

from __future__ import annotations

import atexit

from landing_tap_xactly.tap import TapXactly
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.xactly import XactlyEmulator

_EMULATOR = XactlyEmulator(
    seed=4, volume=15, tables=["xc_credit_type", "xc_quota_relationship", "xc_quota_summary"]
).start()
atexit.register(_EMULATOR.stop)

TestTapXactly = get_tap_test_class(
    TapXactly,
    config=_EMULATOR.tap_config(page_size=4, start_date="2024-01-01T00:00:00Z"),
    suite_config=SuiteConfig(ignore_no_records_for_streams=[]),
)
