"""Prod loading into Snowflake: the resolved config of every pipeline, and the preflight that stops a
job without credentials before its tap starts. What this does not prove (a real Snowflake load) is in
docs/snowflake.md; the loader's SQL is exercised against fakesnow in test_snowflake_sql.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.harness import MELTANO, PROJECT_ROOT

#: DESIGN.md's table: every source lands in its own schema, set per extractor (load_schema extra).
PIPELINES = {
    "tap-zengrc": "TAP_ZENGRC",
    "tap-xactly": "TAP_XACTLY",
    "tap-adaptive": "TAP_ADAPTIVE",
    "tap-zendesk": "TAP_ZENDESK",
    "tap-zendesk--community-relations": "TAP_ZENDESK_COMMUNITY_RELATIONS",
}
SNOWFLAKE = {
    "SNOWFLAKE_ACCOUNT": "acme-prod01",
    "SNOWFLAKE_USER": "MELTANO_LOADER",
    "SNOWFLAKE_ROLE": "LOADER",
    "SNOWFLAKE_WAREHOUSE": "LOADING",
    "SNOWFLAKE_DATABASE": "RAW",
}
CREDENTIALS = (
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY",
    "SNOWFLAKE_PRIVATE_KEY_PATH",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
)
NO_SNOWFLAKE = dict.fromkeys([*SNOWFLAKE, *CREDENTIALS], "")
PREFLIGHT_PYTHON = PROJECT_ROOT / ".meltano/utilities/snowflake-preflight/venv/bin/python"
PREFLIGHT_SCRIPT = PROJECT_ROOT / "utilities/snowflake_preflight.py"


def prod(meltano, *args: str, env: dict[str, str] | None = None, check: bool = True):
    return meltano.run(*args, env={"MELTANO_ENVIRONMENT": "prod", **NO_SNOWFLAKE, **(env or {})}, check=check)


@pytest.fixture(scope="module")
def jobs() -> dict[str, list[str]]:
    done = subprocess.run(
        [MELTANO, "job", "list", "--format=json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {job["job_name"]: job["tasks"] for job in json.loads(done.stdout)["jobs"]}


def snowflake_jobs(jobs: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: tasks for name, tasks in jobs.items() if "target-snowflake" in " ".join(tasks)}


def loader_config(meltano, extractor: str, env: dict[str, str]) -> dict[str, object]:
    """The config target-snowflake receives in a prod run of ``extractor``, as Meltano resolves it."""
    done = prod(meltano, "el", "--dump=loader-config", "--no-install", extractor, "target-snowflake", env=env)
    return json.loads(done.stdout)


def test_every_snowflake_job_runs_the_preflight_before_anything_else(jobs):
    found = snowflake_jobs(jobs)
    assert found, "no *-to-snowflake job"
    for name, tasks in found.items():
        assert name.endswith("-to-snowflake"), name
        assert tasks[0].startswith("snowflake-preflight:check"), f"{name}: first task is {tasks[0]!r}"


@pytest.mark.parametrize(("extractor", "schema"), PIPELINES.items())
def test_prod_config_of_each_pipeline(meltano, jobs, extractor, schema):
    pipelines = [t for tasks in snowflake_jobs(jobs).values() for t in tasks if t.split()[0] == extractor]
    if not pipelines:
        pytest.skip(f"no *-to-snowflake job runs {extractor} yet")
    assert pipelines[0].split()[-1] == "target-snowflake"

    config = loader_config(meltano, extractor, {**SNOWFLAKE, "SNOWFLAKE_PASSWORD": "pw"})

    assert config == {
        "account": "acme-prod01",
        "user": "MELTANO_LOADER",
        "password": "pw",
        "role": "LOADER",
        "warehouse": "LOADING",
        "database": "RAW",
        "default_target_schema": schema,
        "load_method": "upsert",
        "ingestion_method": "file_staging",
        "add_record_metadata": True,
        "hard_delete": False,
        "process_activate_version_messages": True,
        "timestamp_type": "TIMESTAMP_TZ",
    }


def test_key_pair_auth_replaces_the_password(meltano):
    key_pair = {
        **SNOWFLAKE,
        "SNOWFLAKE_PRIVATE_KEY_PATH": "/run/secrets/sf.p8",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "pp",
    }
    config = loader_config(meltano, "tap-zengrc", key_pair)
    assert config["private_key_path"] == "/run/secrets/sf.p8"
    assert config["private_key_passphrase"] == "pp"
    assert "password" not in config
    assert "private_key" not in config


def test_the_preflight_reads_the_same_variables_as_the_loader():
    plugins = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())["plugins"]
    loader = next(p for p in plugins["loaders"] if p["name"] == "target-snowflake")
    preflight = next(p for p in plugins["utilities"] if p["name"] == "snowflake-preflight")
    assert preflight["pip_url"] == loader["pip_url"]
    assert preflight["config"] == {key: loader["config"][key] for key in preflight["config"]}
    assert set(preflight["config"]) >= {"account", "user", "role", "warehouse", "database", "password"}


def test_a_prod_run_without_snowflake_credentials_stops_in_one_line_before_extracting(meltano, emulator):
    server = emulator("zengrc", seed=5, volume=10)
    at_emulator = {
        "TAP_ZENGRC_API_URL": f"{server.url}/api/v2",
        "ZENGRC_USERNAME": "k",
        "ZENGRC_PASSWORD": "s",
        "ZENGRC_TENANT": "acme",
        "PII_HASH_KEY": "prod-config-test-key-0123456789",
    }

    run = prod(meltano, "run", "zengrc-to-snowflake", env=at_emulator, check=False)

    assert run.returncode != 0
    output = run.stdout + run.stderr
    lines = [line for line in output.splitlines() if "snowflake-preflight: " in line]
    assert len(lines) == 1, output
    assert lines[0].endswith(
        "snowflake-preflight: refusing to run the Snowflake load: missing variables: "
        "SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE, "
        "SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PRIVATE_KEY_PATH"
    )
    assert "Traceback" not in output
    assert list(server.emulator.requests) == [], "the tap must not have been started"
    assert not (meltano.root / "state").exists(), "no state written"


def test_the_preflight_passes_with_complete_settings(meltano):
    run = prod(meltano, "invoke", "snowflake-preflight:check", env={**SNOWFLAKE, "SNOWFLAKE_PASSWORD": "s3cret"})
    assert "snowflake-preflight: ok (account acme-prod01, user MELTANO_LOADER, role LOADER, " in run.stderr
    assert "s3cret" not in run.stdout + run.stderr


# The preflight script on its own, with the variables Meltano exports to it (SNOWFLAKE_PREFLIGHT_*):
# every way the credentials can be wrong, without paying for a Meltano start each time.


def preflight(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not PREFLIGHT_PYTHON.exists():
        pytest.skip("snowflake-preflight is not installed (make plugins)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNOWFLAKE_")}
    env.update({f"SNOWFLAKE_PREFLIGHT_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [str(PREFLIGHT_PYTHON), str(PREFLIGHT_SCRIPT)], env=env, capture_output=True, text=True, check=False
    )


BASE = {"account": "acme-prod01", "user": "LOADER", "role": "R", "warehouse": "W", "database": "RAW"}


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


def test_preflight_names_only_what_is_missing():
    done = preflight({k: v for k, v in BASE.items() if k != "warehouse"} | {"password": "pw"})
    assert done.returncode == 1
    assert one_line(done).endswith("missing variables: SNOWFLAKE_WAREHOUSE")


def test_preflight_requires_a_credential():
    done = preflight(BASE)
    assert done.returncode == 1
    assert one_line(done).endswith(
        "missing variables: SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PRIVATE_KEY_PATH"
    )


def test_preflight_refuses_two_credentials_without_showing_them():
    done = preflight(BASE | {"password": "pw-secret", "private_key_path": "/k.p8"})
    assert done.returncode == 1
    line = one_line(done)
    assert "more than one Snowflake credential is set (SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_PATH)" in line
    assert "pw-secret" not in line


@pytest.fixture(scope="module")
def encrypted_key(tmp_path_factory) -> Path:
    """An encrypted PKCS#8 RSA key, as Snowflake key-pair auth uses (made by the preflight venv)."""
    if not PREFLIGHT_PYTHON.exists():
        pytest.skip("snowflake-preflight is not installed (make plugins)")
    path = tmp_path_factory.mktemp("keys") / "rsa_key.p8"
    code = (
        "import sys\n"
        "from cryptography.hazmat.primitives import serialization\n"
        "from cryptography.hazmat.primitives.asymmetric import rsa\n"
        "key = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n"
        "pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,\n"
        "    serialization.BestAvailableEncryption(b'right-passphrase'))\n"
        "open(sys.argv[1], 'wb').write(pem)\n"
    )
    subprocess.run([str(PREFLIGHT_PYTHON), "-c", code, str(path)], check=True)
    return path


def test_preflight_accepts_a_key_pair_with_its_passphrase(encrypted_key):
    done = preflight(BASE | {"private_key_path": str(encrypted_key), "private_key_passphrase": "right-passphrase"})
    assert done.returncode == 0, done.stderr
    assert one_line(done).endswith("key-pair auth)")


def test_preflight_rejects_a_wrong_passphrase_in_one_line(encrypted_key):
    done = preflight(BASE | {"private_key_path": str(encrypted_key), "private_key_passphrase": "wrong-passphrase"})
    assert done.returncode == 1
    line = one_line(done)
    assert "private key from SNOWFLAKE_PRIVATE_KEY_PATH cannot be loaded" in line
    assert "wrong-passphrase" not in line


def test_preflight_rejects_a_missing_key_file(tmp_path):
    done = preflight(BASE | {"private_key_path": str(tmp_path / "absent.p8")})
    assert done.returncode == 1
    assert one_line(done).endswith(f"private key file not found: {tmp_path / 'absent.p8'} (SNOWFLAKE_PRIVATE_KEY_PATH)")


def test_preflight_accepts_a_key_given_inline_as_base64(encrypted_key):
    inline = base64.b64encode(encrypted_key.read_bytes()).decode()
    done = preflight(BASE | {"private_key": inline, "private_key_passphrase": "right-passphrase"})
    assert done.returncode == 0, done.stderr
    assert inline not in done.stderr


# target-snowflake's own load path on fakesnow (tests/snowflake_sql/fakesnow_load.py says exactly
# which three stage operations are swapped): DDL of the landing schema, MERGE upserts, soft deletes.

FAKESNOW_PYTHON = PROJECT_ROOT / ".venv-fakesnow/bin/python"
FAKESNOW_LOAD = PROJECT_ROOT / "tests/snowflake_sql/fakesnow_load.py"
PEOPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "role": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "links": {"type": ["object", "null"]},
    },
}


def full_table_sync(records: list[dict], version: int) -> list[dict]:
    """The messages of one full-table run of ``people``, as an SDK tap emits them."""
    return [
        {"type": "SCHEMA", "stream": "people", "schema": PEOPLE_SCHEMA, "key_properties": ["id"]},
        {"type": "ACTIVATE_VERSION", "stream": "people", "version": version},
        *({"type": "RECORD", "stream": "people", "record": record, "version": version} for record in records),
        {"type": "ACTIVATE_VERSION", "stream": "people", "version": version},
    ]


def test_target_snowflake_sql_upserts_and_soft_deletes_on_fakesnow(meltano, emulator, tmp_path):
    if not FAKESNOW_PYTHON.exists():
        pytest.skip("fakesnow venv missing (make fakesnow-setup)")
    server = emulator("zengrc", seed=9, volume=6, only="people")
    first = server.emulator.truth("people")["people"]
    change = server.emulator.advance(updates=2, creates=1, deletes=1).of("people")
    second = server.emulator.truth("people")["people"]
    keep = {"id", "name", "email", "role", "updated_at", "links"}
    # The first run sees one person twice (a record updated while the page was read): last one wins.
    resent = {**first[0], "role": "Administrator (resent)"}
    runs = [
        full_table_sync([{k: r[k] for k in keep} for r in [*first, resent]], version=1),
        full_table_sync([{k: r[k] for k in keep} for r in second], version=2),
    ]
    config = loader_config(meltano, "tap-zengrc", {**SNOWFLAKE, "SNOWFLAKE_PASSWORD": "pw"})
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"config": config, "table": "RAW.TAP_ZENGRC.PEOPLE", "runs": runs}))

    done = subprocess.run(
        [str(FAKESNOW_PYTHON), str(FAKESNOW_LOAD), str(spec)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    landed = json.loads(done.stdout)

    columns = dict(landed["runs"][0]["columns"])
    assert columns["UPDATED_AT"] == "TIMESTAMP_TZ"
    assert columns["LINKS"] == "VARIANT"
    for metadata in ("_SDC_BATCHED_AT", "_SDC_EXTRACTED_AT", "_SDC_DELETED_AT", "_SDC_TABLE_VERSION"):
        assert metadata in columns

    after_first = {row["id"]: row for row in landed["runs"][0]["rows"]}
    assert len(landed["runs"][0]["rows"]) == len(after_first) == len(first)
    assert after_first[first[0]["id"]]["role"] == "Administrator (resent)"
    assert all(row["_sdc_batched_at"] and row["_sdc_deleted_at"] is None for row in after_first.values())

    after_second = {row["id"]: row for row in landed["runs"][1]["rows"]}
    assert len(landed["runs"][1]["rows"]) == len(after_second), "no duplicates"
    assert set(after_second) == {r["id"] for r in first} | {r["id"] for r in second}
    for record in second:
        row = after_second[record["id"]]
        assert (row["name"], row["email"], row["role"]) == (record["name"], record["email"], record["role"])
        assert row["_sdc_deleted_at"] is None
    for record_id in change.deleted:
        assert after_second[record_id]["_sdc_deleted_at"] is not None, "soft-deleted, row kept"
    merges = [s for s in landed["statements"] if s.startswith("merge into")]
    assert merges
    assert all(s.startswith('merge into "RAW"."TAP_ZENGRC"."PEOPLE" d using') for s in merges)
