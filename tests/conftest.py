from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import MeltanoSandbox
from tests.snowflake_sql.standin_client import Standin, running_standin, standin_missing


@pytest.fixture
def meltano(tmp_path: Path) -> MeltanoSandbox:
    """An isolated Meltano context (own warehouse file and state store) for one test."""
    return MeltanoSandbox(tmp_path)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    """The Snowflake stand-in (fakesnow behind a TLS proxy, tests/snowflake_sql/standin.py), one per module."""
    if reason := standin_missing():
        pytest.skip(reason)
    with running_standin(tmp_path_factory.mktemp("standin")) as running:
        yield running
