"""The SDK's standard target tests (its sample streams, CLI, state handling, schema updates)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class
from target_warehouse.target import TargetWarehouse

_WAREHOUSE = Path(tempfile.mkdtemp(prefix="target-warehouse-standard-")) / "standard.duckdb"

TestTargetWarehouse = get_target_test_class(
    TargetWarehouse,
    config={"filepath": str(_WAREHOUSE), "default_target_schema": "STANDARD", "add_record_metadata": True},
)
