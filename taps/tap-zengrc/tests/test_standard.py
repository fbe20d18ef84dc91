"""The Singer SDK's standard tap tests, against a live emulator."""

from __future__ import annotations

import atexit

from landing_tap_zengrc.tap import TapZenGRC
from singer_sdk.testing import get_tap_test_class

from emulators.core import EmulatorServer
from emulators.registry import create
from tests.support import tap_config

_server = EmulatorServer(create("zengrc", seed=11, volume=12)).start()
atexit.register(_server.stop)

TestTapZenGRC = get_tap_test_class(tap_class=TapZenGRC, config=tap_config(_server.url, page_size=5))
