"""The test side of the Snowflake stand-in (standin.py): start it, point a prod run at it, read what it saw."""

from __future__ import annotations

import gzip
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.harness import PROJECT_ROOT

FAKESNOW_PYTHON = PROJECT_ROOT / ".venv-fakesnow/bin/python"
STANDIN = PROJECT_ROOT / "tests/snowflake_sql/standin.py"

#: The loader's settings, as an operator exports them (docs/snowflake.md); the account is what the
#: connector turns into https://acme-prod01.snowflakecomputing.com:443.
SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "acme-prod01",
    "SNOWFLAKE_USER": "MELTANO_LOADER",
    "SNOWFLAKE_PASSWORD": "stand-in-password",
    "SNOWFLAKE_ROLE": "LOADER",
    "SNOWFLAKE_WAREHOUSE": "LOADING",
    "SNOWFLAKE_DATABASE": "RAW",
}
ACCOUNT_HOST = "acme-prod01.snowflakecomputing.com:443"


def standin_missing() -> str | None:
    """Why the stand-in cannot run here (None when it can)."""
    if not FAKESNOW_PYTHON.exists():
        return "fakesnow venv missing (make fakesnow-setup)"
    probe = subprocess.run(
        [str(FAKESNOW_PYTHON), "-c", "import uvicorn, starlette, cryptography, target_snowflake"],
        capture_output=True,
        check=False,
    )
    if probe.returncode:
        return "fakesnow venv lacks fakesnow[server] (make fakesnow-setup)"
    return None


@dataclass
class Statement:
    """One SQL statement the loader sent, and fakesnow's answer."""

    sql: str
    success: bool
    message: str

    @property
    def verb(self) -> str:
        return self.sql.split(None, 1)[0].upper()


@dataclass
class Traffic:
    """Everything the loader sent through the proxy during one run."""

    connects: list[str]
    requests: list[dict[str, Any]]
    statements: list[Statement] = field(init=False)

    def __post_init__(self) -> None:
        self.statements = [
            Statement(r["sql"], bool(r["success"]), r.get("message") or "") for r in self.requests if r.get("sql")
        ]

    def logins(self) -> list[str]:
        return [r["path"] for r in self.requests if r.get("path", "").startswith("/session/v1/login-request")]

    def first_failure(self) -> Statement | None:
        return next((s for s in self.statements if not s.success and not s.sql.startswith("DESC TABLE")), None)

    def matching(self, *prefixes: str) -> list[Statement]:
        return [s for s in self.statements if s.sql.lower().startswith(tuple(p.lower() for p in prefixes))]

    def retirements(self, table: str) -> list[Statement]:
        """UPDATE … SET _sdc_deleted_at / DELETE of older versions the loader ran on ``table``."""
        soft = [s for s in self.statements if s.verb == "UPDATE" and "_sdc_deleted_at" in s.sql]
        hard = [s for s in self.statements if s.verb == "DELETE" and "_sdc_table_version" in s.sql]
        return [s for s in soft + hard if table in s.sql]


@dataclass
class Standin:
    """A running stand-in: its proxy URL, the CA to trust, and its admin endpoints."""

    proxy: str
    ca: str
    _seen: int = 0
    _connects: int = 0

    def env(self) -> dict[str, str]:
        """What a prod run needs to reach the stand-in instead of Snowflake (nothing else changes)."""
        return {
            **SNOWFLAKE_ENV,
            "HTTPS_PROXY": self.proxy,
            "HTTP_PROXY": self.proxy,
            # The taps read their emulators on the loopback interface directly.
            "NO_PROXY": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": self.ca,
        }

    def _get(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.proxy + path, data=data, method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def traffic_since_last_call(self) -> Traffic:
        """The requests made since the previous call (each test's run sees only its own)."""
        snapshot = self._get("/traffic")
        connects, requests = snapshot["connects"][self._connects :], snapshot["requests"][self._seen :]
        self._connects, self._seen = len(snapshot["connects"]), len(snapshot["requests"])
        return Traffic(connects, requests)

    def sql(self, *statements: str) -> list[list[dict[str, Any]]]:
        """Rows of each statement, run on the stand-in's databases; raises on an error."""
        results = self._get("/sql", list(statements))
        for statement, result in zip(statements, results, strict=True):
            if "error" in result:
                msg = f"{statement}: {result['error']}"
                raise AssertionError(msg)
        return [result["rows"] for result in results]


@contextmanager
def running_standin(workdir: Path) -> Iterator[Standin]:
    """Start standin.py in the fakesnow venv; stop it afterwards."""
    proc = subprocess.Popen(
        [str(FAKESNOW_PYTHON), str(STANDIN), str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            msg = f"stand-in did not start (exit {proc.wait()})"
            raise RuntimeError(msg)
        ready = json.loads(line)
        yield Standin(proxy=ready["proxy"], ca=ready["ca"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def staged_rows(put: Statement) -> list[dict[str, Any]]:
    """The records of the batch file a ``put 'file://…' '@~/…'`` statement would have staged.

    The loader writes its batch files under the SDK's temp dir and keeps them (clean_up_batch_files
    is off), so the file the failed PUT names is still there; it is removed once read.
    """
    uri = put.sql.split("'")[1]
    path = Path(urlparse(uri).path)
    if not path.exists():
        return []
    with gzip.open(path, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    path.unlink()
    return rows
