"""Delete the retired copies of keyless full-table tables in Snowflake, after a successful load.

Run by Meltano as ``snowflake-preflight:prune-retired-xactly``, the last task of
``xactly-to-snowflake`` (Meltano stops a job at its first failing task, so this only runs after the
load succeeded), or by hand as ``meltano --environment=prod invoke snowflake-preflight:prune-retired
SCHEMA TABLE [TABLE ...]``. It runs in the snowflake-preflight venv, which holds the loader's exact
package, and connects through the loader's own ``SnowflakeConnector`` with the same settings
(``SNOWFLAKE_PREFLIGHT_*``, mapped from the operator's ``SNOWFLAKE_*`` variables, password or key
pair), so it reaches the account, role and database the load just wrote to.

Why: target-snowflake's ``hard_delete`` is one switch for the whole loader. With ``false`` (the
prod policy, docs/snowflake.md "Deletions"), a keyless table has no key to MERGE on, so every run
appends a full copy and ACTIVATE_VERSION marks the previous copy ``_sdc_deleted_at``: the table grows
by one retired copy per run. A retired row of a keyless summary says nothing a live row does not, so
these tables keep only the last complete copy, as target-warehouse already does in dev. Keyed
tables are never named here: their soft-deleted rows are the deletion record.

One summary line per table on stderr (rows pruned, or "not found" for a table the loader has not
created yet, which is not an error); one line per failure and exit code 1. Never prints a secret.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from snowflake_preflight import AUTH, PreflightError, check, resolved_settings

#: Identifiers as the loader creates them: upper-cased, unquoted-safe characters only. Anything else
#: on the command line is refused rather than spliced into SQL.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: The loader's soft-delete column (singer-sdk ``SQLSink.soft_delete_column_name``, upper-cased as
#: Snowflake resolves the loader's unquoted ``_sdc_deleted_at``).
SOFT_DELETE_COLUMN = "_SDC_DELETED_AT"
PROGRAM = "snowflake-prune"


class PruneError(Exception):
    """The command line or the connection is unusable; nothing was pruned."""


def parse_arguments(argv: Sequence[str]) -> tuple[str, list[str]]:
    """Return the schema and tables, upper-cased as the loader names them."""
    if len(argv) < 2:  # schema and at least one table
        msg = "usage: snowflake_prune.py SCHEMA TABLE [TABLE ...] (the keyless tables to prune)"
        raise PruneError(msg)
    bad = [name for name in argv if not IDENTIFIER.fullmatch(name)]
    if bad:
        msg = f"not a plain Snowflake identifier: {', '.join(repr(name) for name in bad)}"
        raise PruneError(msg)
    return argv[0].upper(), [table.upper() for table in argv[1:]]


def quoted(*parts: str) -> str:
    """``"DB"."SCHEMA"."TABLE"``: how the loader writes the names in its MERGE and COPY statements."""
    return ".".join(f'"{part}"' for part in parts)


def one_line(exc: BaseException, secrets: Sequence[str]) -> str:
    """The first line of the driver's own message (the SQLAlchemy wrapper adds SQL and a link), redacted."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def prune(settings: Mapping[str, str], schema: str, tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """Delete the soft-deleted rows of each existing table; return (summary lines, error lines)."""
    import sqlalchemy as sa  # noqa: PLC0415  (loader venv only)
    from target_snowflake.connector import SnowflakeConnector  # noqa: PLC0415  (loader venv only)

    secrets = [value for setting, value in settings.items() if setting in AUTH or "passphrase" in setting]
    database = settings["database"]
    connector = SnowflakeConnector(config=dict(settings))
    summaries: list[str] = []
    errors: list[str] = []
    # Connecting (login, SHOW DATABASES) fails here, once, before any table is named.
    with connector.connect() as connection:
        for table in tables:
            name = f"{database}.{schema}.{table}"
            try:
                if not connector.table_exists(name):
                    summaries.append(f"{name}: table not found, nothing to prune")
                    continue
                # Names are checked against IDENTIFIER (parse_arguments) and quoted: no injection.
                statement = sa.text(
                    f"DELETE FROM {quoted(database, schema, table)} WHERE {quoted(SOFT_DELETE_COLUMN)} IS NOT NULL"  # noqa: S608
                )
                with connection.begin():
                    result: Any = connection.execute(statement)
                summaries.append(f"{name}: {result.rowcount} retired rows pruned")
            except Exception as exc:  # any driver failure: one line for that table, go on
                errors.append(f"{name}: {one_line(exc, secrets)}")
    return summaries, errors


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of ``snowflake-preflight:prune-retired*``; arguments: SCHEMA TABLE [TABLE ...]."""
    env = os.environ if environ is None else environ
    settings = resolved_settings(env)
    try:
        schema, tables = parse_arguments(list(sys.argv[1:] if argv is None else argv))
        check(settings, environ=env)
        summaries, errors = prune(settings, schema, tables)
    except (PruneError, PreflightError) as exc:
        sys.stderr.write(f"{PROGRAM}: nothing pruned: {exc}\n")
        return 1
    except Exception as exc:  # connection failures: one line, no traceback, no secret
        secrets = [value for setting, value in settings.items() if setting in AUTH or "passphrase" in setting]
        sys.stderr.write(f"{PROGRAM}: nothing pruned: cannot connect to Snowflake: {one_line(exc, secrets)}\n")
        return 1
    for line in summaries:
        sys.stderr.write(f"{PROGRAM}: {line}\n")
    for line in errors:
        sys.stderr.write(f"{PROGRAM}: failed: {line}\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
