"""pytest fixture ``emulator``: start any HTTP emulator on a free port for one test.

Usage::

    def test_pages(emulator):
        server = emulator("zengrc", seed=3, volume=120, faults={"faults": [...]})
        config = {"api_url": server.url + "/api/v2", ...}
        truth = server.emulator.truth()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulators.core.server import EmulatorServer
from emulators.registry import create

StartEmulator = Callable[..., EmulatorServer]


@pytest.fixture
def emulator() -> Iterator[StartEmulator]:
    """Factory: ``emulator(name, **options)`` → a started :class:`EmulatorServer`, stopped after the test."""
    started: list[EmulatorServer] = []

    def start(name: str, **options: Any) -> EmulatorServer:
        server = EmulatorServer(create(name, **options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def xactly_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Factory: ``xactly_db(seed=1, volume=60, tables=[...])`` → a started ``XactlyEmulator``.

    H2 serves over TCP on a free port and stops after the test; ``emu.tap_config(...)`` gives the tap's settings.
    """
    from emulators.xactly import XactlyEmulator  # noqa: PLC0415 - only tests that use it pay for it

    started: list[XactlyEmulator] = []

    def start(**options: Any) -> XactlyEmulator:
        emu = XactlyEmulator(workdir=tmp_path_factory.mktemp("xactly"), **options).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
