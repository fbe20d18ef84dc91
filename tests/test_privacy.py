"""Privacy (docs/privacy.md): personal fields reach the warehouse only as keyed hashes.

End to end: the ZenGRC emulator -> tap-zengrc -> mapper-pii (mapping pii-zengrc) -> target-warehouse,
through the same job operators run. Expected hashes are computed here from the emulator's ground
truth with the rule docs/privacy.md states (HMAC-SHA256 of the whitespace-collapsed, lower-cased
text), not with the mapper's code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess

import pytest

from tests.harness import MELTANO, PROJECT_ROOT

pytestmark = pytest.mark.e2e
KEY_A = "privacy-test-key-A-0123456789"
KEY_B = "privacy-test-key-B-0123456789"
SCHEMA = "TAP_ZENGRC"
#: Which mapping each extractor's jobs must run between tap and loader. A source joins this table
#: once its jobs run its mapping (meltano.yml has pii-zendesk, pii-xactly and pii-adaptive ready,
#: written from the source notes; their field names are checked against the tap's schema at the
#: first run, docs/privacy.md).
MAPPINGS = {
    "tap-zengrc": "pii-zengrc",
    "tap-xactly": "pii-xactly",
    "tap-adaptive": "pii-adaptive",
    "tap-zendesk": "pii-zendesk",
    "tap-zendesk--community-relations": "pii-zendesk",
}


def keyed(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(key.encode(), " ".join(value.split()).lower().encode(), hashlib.sha256).hexdigest()


def run_zengrc(meltano, server, key: str | None, environment: str = "dev", check: bool = True):
    env = {"MELTANO_ENVIRONMENT": environment, "TAP_ZENGRC_API_URL": f"{server.url}/api/v2"}
    if key is not None:
        env["MAPPER_PII_HASH_KEY"] = key
    if environment == "prod":
        env.update({"ZENGRC_USERNAME": "emulator-key-id", "ZENGRC_PASSWORD": "emulator-key-secret", "PII_HASH_KEY": ""})
    # The EL block of the zengrc jobs, into the local warehouse whatever the environment.
    return meltano.run("run", "tap-zengrc", "pii-zengrc", "target-warehouse", env=env, check=check)


def people(meltano) -> dict[int, tuple[str, str]]:
    return {row[0]: row[1:] for row in meltano.query(f'select id, name, email from "{SCHEMA}".people')}


def person_names_in(meltano, table: str, column: str) -> list[str]:
    """Every ``name`` inside a JSON list of person refs, as landed."""
    names: list[str] = []
    for (refs,) in meltano.query(f'select {column} from "{SCHEMA}".{table} where {column} is not null'):
        names += [ref["name"] for ref in json.loads(refs) if ref and ref.get("name") is not None]
    return names


def test_personal_fields_land_as_keyed_hashes_and_raw_values_never_do(meltano, emulator):
    server = emulator("zengrc", seed=31, volume=12)
    run_zengrc(meltano, server, KEY_A)
    truth = server.emulator.truth()

    assert people(meltano) == {p["id"]: (keyed(KEY_A, p["name"]), keyed(KEY_A, p["email"])) for p in truth["people"]}
    expected_assignees = sorted(
        keyed(KEY_A, ref["name"]) for r in truth["requests"] for ref in r["assignees"] if ref is not None
    )
    assert sorted(person_names_in(meltano, "requests", "assignees")) == expected_assignees
    landed = json.dumps(meltano.query(f'select * from "{SCHEMA}".requests'), default=str)
    landed += json.dumps(meltano.query(f'select * from "{SCHEMA}".programs'), default=str)
    landed += json.dumps(meltano.query(f'select * from "{SCHEMA}".people'), default=str)
    for person in truth["people"]:
        assert person["name"] not in landed
        assert person["email"] not in landed


def test_hashes_are_stable_across_runs_and_change_with_the_key(meltano, emulator):
    server = emulator("zengrc", seed=32, volume=8, only="people")
    run_zengrc(meltano, server, KEY_A)
    first = people(meltano)
    run_zengrc(meltano, server, KEY_A)
    assert people(meltano) == first

    run_zengrc(meltano, server, KEY_B)
    rekeyed = people(meltano)
    assert set(rekeyed) == set(first)
    for person in server.emulator.truth("people")["people"]:
        assert rekeyed[person["id"]] == (keyed(KEY_B, person["name"]), keyed(KEY_B, person["email"]))
        assert rekeyed[person["id"]][1] != first[person["id"]][1]


def test_a_run_without_the_key_refuses_to_start_and_loads_nothing(meltano, emulator):
    server = emulator("zengrc", seed=33, volume=8, only="people")
    run = run_zengrc(meltano, server, key=None, environment="prod", check=False)

    assert run.returncode != 0
    output = run.stdout + run.stderr
    refusals = [line for line in output.splitlines() if "mapper-pii: " in line]
    assert len(refusals) == 1, output
    assert refusals[0].endswith(
        "mapper-pii: refusing to start: hash_key is not set (export PII_HASH_KEY) but hashing is configured "
        "for streams: assessments, audits, people, programs, requests, vendors"
    )
    assert "Traceback" not in output
    if meltano.warehouse_path.exists():
        tables = meltano.query("select table_name from information_schema.tables where table_schema = ?", [SCHEMA])
        assert tables == []


def test_every_job_of_a_source_with_personal_data_hashes_it():
    done = subprocess.run(
        [MELTANO, "job", "list", "--format=json"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    checked = 0
    for job in json.loads(done.stdout)["jobs"]:
        for task in job["tasks"]:
            blocks = task.split()
            if blocks[0] in MAPPINGS:
                assert blocks[1] == MAPPINGS[blocks[0]], f"{job['job_name']}: {task!r} skips {MAPPINGS[blocks[0]]}"
                checked += 1
    assert checked == 2 * len(MAPPINGS), "every source has a dev and a prod job"
