"""Name → emulator class, imported lazily so that one source's dependencies never load another's."""

from __future__ import annotations

import importlib
from typing import Any

from emulators.core.server import HttpEmulator

#: HTTP emulators by the name used on the command line and in fixtures.
HTTP_EMULATORS: dict[str, str] = {
    "zengrc": "emulators.zengrc:ZenGRCEmulator",
    "zendesk": "emulators.zendesk:ZendeskEmulator",
    "adaptive": "emulators.adaptive:AdaptiveEmulator",
}


def create(name: str, **options: Any) -> HttpEmulator:
    """Instantiate the emulator called ``name`` with seed/volume/faults/source options."""
    try:
        target = HTTP_EMULATORS[name]
    except KeyError:
        msg = f"unknown emulator {name!r}; known: {', '.join(sorted(HTTP_EMULATORS))}"
        raise ValueError(msg) from None
    module_name, _, class_name = target.partition(":")
    emulator_class: type[HttpEmulator] = getattr(importlib.import_module(module_name), class_name)
    return emulator_class(**options)
