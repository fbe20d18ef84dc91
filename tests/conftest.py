from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import MeltanoSandbox


@pytest.fixture
def meltano(tmp_path: Path) -> MeltanoSandbox:
    """An isolated Meltano context (own warehouse file and state store) for one test."""
    return MeltanoSandbox(tmp_path)
