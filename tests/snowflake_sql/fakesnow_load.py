"""Run target-snowflake's own load path in-process against fakesnow; print what landed as JSON.

Usage (in the fakesnow venv): ``python fakesnow_load.py spec.json`` where the spec holds the
loader ``config`` and ``runs`` (each a list of Singer messages, fed to a fresh target as one
Meltano run would). Everything target-snowflake 0.20.4 does runs unchanged — config validation,
SCHEMA handling, table DDL with the _sdc_ metadata columns, record conformance, JSONL batch files,
the MERGE statement it generates, ACTIVATE_VERSION soft deletes — except the three things fakesnow
cannot do (shared/reference/meltano-notes.md §2a), swapped in ``StagingTableConnector``:
- PUT to the user stage ``@~``: the batch file's rows go into a table (one VARIANT per line, in
  file order) instead;
- the MERGE's source reads that table instead of ``'@~/…'(file_format => …)``, with ``$1`` named
  ``v`` and ``SEQ8()`` replaced by the row's file position (DuckDB reads ``$1`` as a parameter and
  has no SEQ8 in a window), and it is materialised first because fakesnow cannot bind a QUALIFY
  subquery inside MERGE ... USING;
- REMOVE of staged files and CREATE/DROP FILE FORMAT become deletes/no-ops.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import fakesnow

STAGE = "FAKESNOW_STAGE.ROWS"


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    warnings.simplefilter("ignore")
    with fakesnow.patch(db_path=tempfile.mkdtemp(), create_database_on_connect=True, create_schema_on_connect=True):
        from target_snowflake.connector import SnowflakeConnector  # noqa: PLC0415 (must import under the patch)
        from target_snowflake.sinks import SnowflakeSink  # noqa: PLC0415
        from target_snowflake.target import TargetSnowflake  # noqa: PLC0415

        statements: list[str] = []

        class StagingTableConnector(SnowflakeConnector):
            def _ensure_stage(self, conn: Any) -> None:
                conn.exec_driver_sql("create schema if not exists FAKESNOW_STAGE")
                conn.exec_driver_sql(f"create table if not exists {STAGE} (sync_id varchar, seq integer, v variant)")

            def put_batches_to_stage(self, sync_id: str, files: Any) -> None:
                with self._connect() as conn, conn.begin():
                    self._ensure_stage(conn)
                    seq = 0
                    for file_url in files:
                        path = urlparse(file_url).path
                        opener = gzip.open if path.endswith(".gz") else open
                        with opener(path, "rt") as lines:
                            for line in lines:
                                conn.exec_driver_sql(
                                    f"insert into {STAGE} select %s, %s, parse_json(%s)", (sync_id, seq, line)
                                )
                                seq += 1

            def create_file_format(self, file_format: str, file_type: str = "JSON") -> None:
                statements.append(f"create file format {file_format} type = '{file_type}' (skipped)")

            def drop_file_format(self, file_format: str) -> None:
                statements.append(f"drop file format {file_format} (skipped)")

            def remove_staged_files(self, sync_id: str) -> None:
                with self._connect() as conn, conn.begin():
                    conn.exec_driver_sql(f"delete from {STAGE} where sync_id = %s", (sync_id,))

            def merge_from_stage(self, full_table_name, schema, sync_id, file_format, key_properties):  # type: ignore[no-untyped-def]
                statement, _ = self._get_merge_from_stage_statement(
                    full_table_name=full_table_name,
                    schema=schema,
                    sync_id=sync_id,
                    file_format=file_format,
                    key_properties=key_properties,
                )
                sql = str(statement)
                statements.append(sql)
                merge = re.fullmatch(r"merge into (\S+) d using \((select .*)\) s (on .*)", sql, flags=re.S)
                if merge is None:
                    raise AssertionError(f"unexpected MERGE shape: {sql}")
                stage_read = f"'@~/target-snowflake/{sync_id}'(file_format => {file_format})"
                source = (
                    merge.group(2)
                    .replace(stage_read, f"(select v, seq from {STAGE} where sync_id = '{sync_id}')")
                    .replace("ORDER BY SEQ8() DESC", "ORDER BY seq DESC")
                    .replace("$1:", "v:")
                )
                with self._connect() as conn, conn.begin():
                    conn.exec_driver_sql("create or replace table FAKESNOW_STAGE.MERGE_SOURCE as " + source)
                    conn.exec_driver_sql(
                        f"merge into {merge.group(1)} d using FAKESNOW_STAGE.MERGE_SOURCE s {merge.group(3)}"
                    )
                    return conn.exec_driver_sql("select count(*) from FAKESNOW_STAGE.MERGE_SOURCE").scalar()

        class Sink(SnowflakeSink):
            connector_class = StagingTableConnector

        class Target(TargetSnowflake):
            default_sink_class = Sink

        result: dict[str, Any] = {"runs": [], "statements": statements}
        for messages in spec["runs"]:
            target = Target(config=spec["config"], validate_config=True)
            target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
            result["runs"].append(snapshot(target, spec["table"]))
        print(json.dumps(result, default=str))


def snapshot(target: Any, table: str) -> dict[str, Any]:
    database, schema, name = table.split(".")
    connector = StagingFree(target)
    with connector.connect() as conn:
        columns = conn.exec_driver_sql(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = %s and table_schema = %s and table_name = %s order by ordinal_position",
            (database, schema, name),
        ).fetchall()
        cursor = conn.exec_driver_sql(f'select * from "{database}"."{schema}"."{name}"')
        keys = [c[0].lower() for c in cursor.cursor.description]
        rows = [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
    return {"columns": [list(c) for c in columns], "rows": rows}


class StagingFree:
    """A plain connection with the target's own settings, to read back what landed."""

    def __init__(self, target: Any) -> None:
        # create_engine is the connector's public way to the engine its settings describe
        self.engine = target.default_sink_class.connector_class(config=dict(target.config)).create_engine()

    def connect(self) -> Any:
        return self.engine.connect()


if __name__ == "__main__":
    main(sys.argv[1])
