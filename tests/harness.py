"""Run Meltano the way operators do, but isolated: own warehouse file, own state, emulator URLs.

Every end-to-end test goes through :func:`meltano` so that runs never touch the demo's
``output/warehouse.duckdb`` or the project's ``.meltano/meltano.db`` state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).with_name("meltano"))


@dataclass
class MeltanoSandbox:
    """One isolated Meltano context: a warehouse file and a state store in a temp folder."""

    root: Path

    @property
    def sys_dir(self) -> Path:
        """This sandbox's own ``.meltano``: a private ``run/`` folder, the project's plugin venvs.

        Meltano writes each run's discovered catalog and config files to ``.meltano/run/<plugin>/``
        under fixed names, so two runs of one plugin from the same project (tests of several people,
        or pytest-xdist) would read each other's catalog and selection. The venvs are shared by link.
        """
        sys_dir = self.root / "meltano-sys"
        if not sys_dir.exists():
            sys_dir.mkdir()
            for entry in (PROJECT_ROOT / ".meltano").iterdir():
                if entry.is_dir() and entry.name != "run":
                    (sys_dir / entry.name).symlink_to(entry)
        return sys_dir

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    def env(self, extra: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, str]:
        """The process environment for Meltano; variables starting with a ``drop`` prefix are removed."""
        env = {name: value for name, value in os.environ.items() if not (drop and name.startswith(drop))}
        env.update(
            {
                "MELTANO_ENVIRONMENT": "dev",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_STATE_BACKEND_URI": f"file://{self.root / 'state'}",
                # Own system database too: Meltano refuses to start a job whose state id is already
                # running according to it, so sandboxes must not share the project's .meltano/meltano.db.
                "MELTANO_DATABASE_URI": f"sqlite:///{self.root / 'meltano.db'}",
                "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
                "TARGET_WAREHOUSE_FILEPATH": str(self.warehouse_path),
                "NO_COLOR": "1",
            }
        )
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 900,
        drop: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[str]:
        """``meltano <args>`` in the project root; raises with the log tail when it fails and check is on.

        ``drop``: prefixes of variables removed from the inherited environment (a run that must see
        only the variables a test gives it).
        """
        result = subprocess.run(
            [MELTANO, *args],
            cwd=PROJECT_ROOT,
            env=self.env(env, drop),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            msg = f"meltano {' '.join(args)} exited {result.returncode}:\n{tail}"
            raise AssertionError(msg)
        return result

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a query against this sandbox's warehouse (read-only connection)."""
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
