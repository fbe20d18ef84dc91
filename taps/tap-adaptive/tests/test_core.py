"""The SDK's standard tap tests against one emulator started for this module."""

from __future__ import annotations

import atexit

import pytest
from landing_tap_adaptive.tap import TapAdaptive
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.core.server import EmulatorServer
from emulators.registry import create
from tests.conftest import tap_config

_SERVER = EmulatorServer(create("adaptive", seed=3, volume=30)).start()
atexit.register(_SERVER.stop)

# extra_fields is null until an instance sends something the schema lacks (tests/contract covers it), so
# the SDK's per-attribute "No records were available" warning is expected for it.
pytestmark = pytest.mark.filterwarnings("ignore:No records were available to test:UserWarning")

# exportDimensionMapping needs the sales-planning licence: the emulator refuses it, the stream stays empty.
TestTapAdaptive = get_tap_test_class(
    TapAdaptive,
    config=tap_config(_SERVER),
    suite_config=SuiteConfig(ignore_no_records_for_streams=["export_dimension_mapping"]),
)
