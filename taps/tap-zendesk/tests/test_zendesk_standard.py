"""The Singer SDK's standard tap tests, against a live Zendesk emulator."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class
from tap_zendesk.tap import TapZendesk
from zendesk_support import tap_config

from emulators.core import EmulatorServer
from emulators.registry import create

# The factory instantiates the tap at collection time, so the server must be up at import.
_server = EmulatorServer(create("zendesk", seed=5, volume=12)).start()
atexit.register(_server.stop)

TestTapZendesk = get_tap_test_class(tap_class=TapZendesk, config=tap_config(_server.url, page_size=5))
