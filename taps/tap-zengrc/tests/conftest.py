from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import TapRun, run_tap


@pytest.fixture
def tap(tmp_path: Path):
    """``tap(config, *cli_args)`` → :class:`TapRun`."""

    def run(
        config: dict[str, Any], *args: str, state: dict[str, Any] | None = None, env: dict[str, str] | None = None
    ) -> TapRun:
        return run_tap(tmp_path, config, *args, state=state, env=env)

    return run
