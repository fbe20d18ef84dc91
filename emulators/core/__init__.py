"""Shared machinery of every emulator: data collections, clock, faults and the HTTP server."""

from emulators.core.clock import SimClock
from emulators.core.collection import Collection, Mutation, SeededCollection, StoredCollection
from emulators.core.faults import FaultPlan, FaultRule
from emulators.core.server import EmulatorServer, HttpEmulator

__all__ = [
    "Collection",
    "EmulatorServer",
    "FaultPlan",
    "FaultRule",
    "HttpEmulator",
    "Mutation",
    "SeededCollection",
    "SimClock",
    "StoredCollection",
]
