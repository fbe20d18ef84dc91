"""The Xactly Connect ``xactly.xc_*`` objects the emulator holds, read from ``xc_columns.txt``.

Vendor reference: ``../shared/sources/xactly.md`` (§2 objects and columns, §6 what an emulator should
reproduce). The column lists are public facts written down in ``xc_columns.txt`` (each line names its
source: the JSON schemas Mashey generated from a real tenant, GitLab's dbt source models), never taken
from tap-xactly: the emulator must disagree with the tap wherever the tap is wrong.

How H2 stores each column follows the notes, since the public schemas only say "number" or "string":
``*_DATE`` columns are timestamps (the public tap turned ``java.time`` values into strings, §2.3), 0/1
flags are one-character strings (``'1'`` in Connect scripts, strings in GitLab's warehouse, §1.6),
amounts are decimals, other numbers integers, and the ids §2.2 marks "(s)" are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: The facts file beside this module.
COLUMNS_FILE = Path(__file__).with_name("xc_columns.txt")
#: §2.3: tenant custom fields use ``__`` between words; each numeric one has a ``__UNIT_TYPE_ID`` twin.
CUSTOM_NUMERIC = "ARR__NET__AMOUNT"
CUSTOM_COLUMNS = (CUSTOM_NUMERIC, f"{CUSTOM_NUMERIC}__UNIT_TYPE_ID", "INVOICE__DATE", "ADP__FILE__NUMBER")
#: §2.3: the objects GitLab's warehouse shows with tenant custom fields.
CUSTOM_FIELD_OBJECTS = frozenset({"xc_participant", "xc_comp_order_item"})
#: String-typed columns that hold 0/1 flags (§1.6), beyond the ``IS_*`` family.
FLAGS = frozenset({"EVER_ON_HOLD", "ROLLABLE_ON_REPORTING", "ENABLED"})
AMOUNT_WORDS = ("AMOUNT", "VALUE", "SALARY", "TARGET")


@dataclass(frozen=True)
class Table:
    """One ``xc_*`` object: its key column(s), its columns in the source's order and their source types."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    custom: bool = False
    hist_of: str | None = None
    #: ``n`` or ``s`` per column, as the public source types it; custom columns default by name.
    source_types: dict[str, str] = field(default_factory=dict)

    @property
    def incremental(self) -> bool:
        """Keyed tables with MODIFIED_DATE; the summaries are neither."""
        return bool(self.key) and "MODIFIED_DATE" in self.columns

    def sql_type(self, column: str) -> str:
        """H2 column type: the source's number/string, refined by the notes' conventions (module doc)."""
        kind = self.source_types.get(column) or _custom_kind(column)
        if kind == "n":
            amount = column == CUSTOM_NUMERIC or any(word in column for word in AMOUNT_WORDS)
            if amount and not column.endswith("_ID"):
                return "DECIMAL(20,4)"
            return "BIGINT"
        if column.endswith("_DATE"):
            return "TIMESTAMP"
        if column.startswith("IS_") or column in FLAGS:
            return "CHAR(1)"
        if column.endswith(("_ID", "_UUID", "__NUMBER")):
            return "VARCHAR(64)"
        return "VARCHAR(255)"


def _custom_kind(column: str) -> str:
    return "n" if column == CUSTOM_NUMERIC or column.endswith("_UNIT_TYPE_ID") else "s"


@dataclass(frozen=True)
class Fact:
    """One line of ``xc_columns.txt``."""

    name: str
    key: tuple[str, ...]
    source: str
    columns: tuple[tuple[str, str], ...]


def read_facts(path: Path = COLUMNS_FILE) -> list[Fact]:
    """Parse the facts file (format in its header)."""
    facts = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, body = line.partition(":")
        name, key, source = head.split()
        columns = tuple(tuple(item.rsplit(":", 1)) for item in body.split())
        if any(len(c) != 2 or c[1] not in {"n", "s"} for c in columns):
            msg = f"{path}:{number}: every column is NAME:n or NAME:s"
            raise ValueError(msg)
        facts.append(Fact(name, () if key == "-" else (key,), source, columns))  # type: ignore[arg-type]
    return facts


def _all_tables() -> dict[str, Table]:
    facts = read_facts()
    names = {f.name for f in facts}
    tables = {}
    for fact in facts:
        columns = tuple(c for c, _ in fact.columns)
        custom = fact.name in CUSTOM_FIELD_OBJECTS
        if custom:
            columns += CUSTOM_COLUMNS
        parent = fact.name.removesuffix("_hist")
        tables[fact.name] = Table(
            fact.name,
            fact.key,
            columns,
            custom=custom,
            hist_of=parent if parent != fact.name and parent in names else None,
            source_types=dict(fact.columns),
        )
    return dict(sorted(tables.items()))


#: Every object the emulator can hold, by lower-case stream name.
TABLES: dict[str, Table] = _all_tables()
