"""The built-in catalogue against public vendor facts, and the emulator's independence from the tap.

``vendor_facts/public_schemas.json`` is this test's own copy of the public tap-xactly JSON schemas'
columns (source recorded in the file): 30 objects, 507 columns. The catalogue stands in whenever the
driver cannot describe its tables, so a column missing there is a column a customer silently loses.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from landing_tap_xactly.catalogue import KNOWN_TABLES
from landing_tap_xactly.tap import TapXactly

from tests.conftest import normalise, sync

FACTS = json.loads((Path(__file__).parent / "vendor_facts" / "public_schemas.json").read_text())["objects"]
EMULATOR_DIR = Path(__file__).resolve().parents[3] / "emulators" / "xactly"
#: JSON types the catalogue may give a column the public schema types as number / string.
COMPATIBLE = {"number": {"integer", "number"}, "string": {"string"}}


def test_the_fixture_holds_what_the_public_schemas_list():
    assert len(FACTS) == 30
    assert sum(len(columns) for columns in FACTS.values()) == 507


@pytest.mark.parametrize("name", sorted(FACTS))
def test_catalogue_has_every_public_column_with_a_compatible_type(name):
    known = KNOWN_TABLES[name]
    properties = known.schema()["properties"]
    missing = [c for c in FACTS[name] if c not in known.columns]
    assert not missing, f"{name} lacks {missing}"
    wrong = {
        column: (kind, properties[column]["type"])
        for column, kind in FACTS[name].items()
        if not set(properties[column]["type"]) - {"null"} <= COMPATIBLE[kind]
    }
    assert not wrong, f"{name}: {wrong}"


def test_catalogue_lists_no_column_the_public_schemas_do_not_show_for_their_objects():
    """A column the tenant does not have would break the fallback's SELECT."""
    extra = {name: sorted(set(KNOWN_TABLES[name].columns) - set(columns)) for name, columns in FACTS.items()}
    assert not {name: cols for name, cols in extra.items() if cols}


def test_no_emulator_file_imports_or_names_the_tap():
    files = sorted(EMULATOR_DIR.glob("*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [m for m in imported if m.split(".")[0] == "landing_tap_xactly"], path
    for path in EMULATOR_DIR.iterdir():
        if path.is_file() and path.suffix in {".py", ".txt"}:
            assert not re.search(r"(from|import)\s+landing_tap_xactly", path.read_text(encoding="utf-8")), path


def test_emulator_docstring_points_at_its_vendor_notes():
    docstring = ast.get_docstring(ast.parse((EMULATOR_DIR / "__init__.py").read_text(encoding="utf-8")))
    assert docstring is not None
    assert "../shared/sources/xactly.md" in docstring


def test_a_column_the_catalogue_does_not_know_is_discovered_and_extracted(xactly_db):
    """Real tenants add columns (shared/sources/xactly.md §2.3): discovery reads them from the database."""
    emu = xactly_db(seed=6, volume=12, tables=["xc_credit_type"])
    emu.execute(["ALTER TABLE XACTLY.XC_CREDIT_TYPE ADD COLUMN REGION__CODE VARCHAR(16) DEFAULT 'EMEA-ü';"])
    assert "REGION__CODE" not in KNOWN_TABLES["xc_credit_type"].columns
    stream = TapXactly(config=emu.tap_config()).streams["xc_credit_type"]
    assert stream.schema["properties"]["REGION__CODE"]["type"] == ["string", "null"]
    records = sync(emu.tap_config()).records["xc_credit_type"]
    assert [r["REGION__CODE"] for r in records] == ["EMEA-ü"] * 12
    truth = {r["CREDIT_TYPE_ID"]: normalise(r) for r in emu.truth("xc_credit_type")["xc_credit_type"]}
    assert all({**truth[r["CREDIT_TYPE_ID"]], "REGION__CODE": "EMEA-ü"} == r for r in records)
