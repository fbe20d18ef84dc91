from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_support import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """A warehouse file in folders that do not exist yet (the target creates them)."""
    return Warehouse(tmp_path / "nested" / "folders" / "warehouse.duckdb")
