"""Production day: every prod job, configured only as the README says, has all it needs — or says what is missing.

The README's "Prod: what operators set" table is parsed here, so the test fails as soon as the README,
meltano.yml and the preflight stop agreeing. Each ``<source>-to-snowflake`` job's configuration is
resolved by Meltano in ``--environment=prod`` with exactly the documented variables (fake values,
nothing inherited from the machine), then judged by the tap's own validation, the hashing launcher's
own check and the Snowflake preflight's check (run through Meltano once, for the refusal).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from landing_tap_adaptive.tap import TapAdaptive
from landing_tap_xactly import jdbc
from landing_tap_xactly.tap import TapXactly
from landing_tap_zendesk import settings as zendesk_settings
from landing_tap_zendesk.tap import TapZendesk
from landing_tap_zengrc.client import resolve_api_url
from landing_tap_zengrc.tap import TapZenGRC
from mapper_pii.hashing import MessageHasher

from tests.harness import MELTANO, PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
TABLE_HEADING = "### Prod: what operators set"
#: Variables a prod test run must not inherit from the machine it runs on.
SCRUB = ("TAP_", "ZENGRC_", "SNOWFLAKE_", "PII_", "MAPPER_PII_")
EVERY_JOB = "every job"


@dataclass(frozen=True)
class Requirement:
    """One README row: the variable to set, the ones that may replace it, and the jobs needing it."""

    names: tuple[str, ...]
    jobs: frozenset[str] | None  # None: every job

    def needed_by(self, job: str) -> bool:
        return self.jobs is None or job in self.jobs


def documented() -> list[Requirement]:
    """The README's prod variable table, row by row."""
    text = README.read_text()
    assert TABLE_HEADING in text, f"README.md has no {TABLE_HEADING!r} section"
    rows = []
    for line in text.split(TABLE_HEADING, 1)[1].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or not cells[0].startswith("`"):
            if rows and not line.startswith("|"):
                break
            continue
        names = tuple(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]))
        jobs = None if cells[1] == EVERY_JOB else frozenset(re.findall(r"`([a-z0-9-]+)`", cells[1]))
        rows.append(Requirement(names, jobs))
    assert rows, "the README's prod table is empty"
    return rows


def fake_value(name: str, folder: Path) -> str:
    """A value of the right shape for a documented variable (no real secret anywhere)."""
    if name.endswith("START_DATE"):
        return "2021-01-01T00:00:00Z"
    if name.endswith("DRIVER_JAR"):
        jar = folder / "xactly-connect-driver.jar"
        jar.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: a file exists where the tap looks
        return str(jar)
    return f"fake-{name.lower().replace('_', '-')}-value"


def documented_env(job: str, folder: Path, without: str | None = None) -> dict[str, str]:
    """Exactly the README's variables for ``job``: the first name of each row, fake values."""
    return {
        row.names[0]: fake_value(row.names[0], folder)
        for row in documented()
        if row.needed_by(job) and row.names[0] != without
    }


@pytest.fixture(scope="module")
def prod_jobs() -> dict[str, list[str]]:
    done = subprocess.run(
        [MELTANO, "job", "list", "--format=json"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    jobs = {job["job_name"]: job["tasks"] for job in json.loads(done.stdout)["jobs"]}
    return {name: tasks for name, tasks in jobs.items() if name.endswith("-to-snowflake")}


def extractor_of(tasks: list[str]) -> str:
    (pipeline,) = [task.split() for task in tasks if len(task.split()) > 1]
    return pipeline[0]


def preflight_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "snowflake_preflight", PROJECT_ROOT / "utilities/snowflake_preflight.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preflight_requirements(command: str) -> list[str]:
    """The variables a ``snowflake-preflight:<command>`` checks: its arguments in meltano.yml."""
    utilities = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())["plugins"]["utilities"]
    preflight = next(u for u in utilities if u["name"] == "snowflake-preflight")
    return str(preflight["commands"][command]["args"]).split()[1:]


def snowflake_settings(preflight: ModuleType, env: dict[str, str]) -> dict[str, str]:
    """The loader settings Meltano maps from SNOWFLAKE_* (tests/test_snowflake_prod_config.py checks the mapping)."""
    names = {**preflight.REQUIRED, **preflight.AUTH}
    return {setting: env[name] for setting, name in names.items() if name in env}


JOBS = [
    "zengrc-to-snowflake",
    "xactly-to-snowflake",
    "adaptive-to-snowflake",
    "zendesk-to-snowflake",
    "zendesk-community-relations-to-snowflake",
]


def test_the_readme_documents_every_prod_job_and_nothing_else(prod_jobs):
    named = {job for row in documented() if row.jobs is not None for job in row.jobs}
    assert named == set(prod_jobs) == set(JOBS)


@pytest.mark.parametrize("job", JOBS)
def test_each_jobs_preflight_checks_exactly_the_documented_variables(prod_jobs, job):
    preflight = preflight_module()
    first = prod_jobs[job][0]
    assert first.startswith("snowflake-preflight:"), f"{job}: first task is {first!r}"
    checked = {tuple(spec.split("|")) for spec in preflight_requirements(first.split(":", 1)[1])}
    snowflake = {(name,) for name in preflight.REQUIRED.values()} | {tuple(preflight.AUTH.values())}
    expected = {row.names for row in documented() if row.needed_by(job)}
    assert checked | snowflake == expected, "README table, meltano.yml preflight command and the script differ"


def resolved_extractor_config(meltano, job: str, extractor: str, env: dict[str, str]) -> dict[str, Any]:
    """What the extractor receives in a prod run of ``job``, as Meltano writes its config file."""
    done = meltano.run(
        "--environment=prod",
        "el",
        "--dump=extractor-config",
        "--no-install",
        extractor,
        "target-snowflake",
        env=env,
        drop=SCRUB,
    )
    return json.loads(done.stdout)


def tap_accepts(extractor: str, config: dict[str, Any]) -> None:
    """The tap's own judgement of a config, without a request: its JSON Schema and its own checks."""
    tap_class = {
        "tap-zengrc": TapZenGRC,
        "tap-xactly": TapXactly,
        "tap-adaptive": TapAdaptive,
        "tap-zendesk": TapZendesk,
        "tap-zendesk--community-relations": TapZendesk,
    }[extractor]
    schema = tap_class.config_jsonschema
    jsonschema.validators.validator_for(schema)(schema).validate(config)
    if extractor == "tap-zengrc":
        resolve_api_url(config)  # "set `api_url` (or `base_url`, or `tenant`)" without a tenant
    elif extractor.startswith("tap-zendesk"):
        assert zendesk_settings.problems(config) == []
    elif extractor == "tap-xactly":
        jdbc.jar_paths(config.get("driver_jar"))
        for setting in ("username", "password", "client_id", "consumer"):  # Xactly Connect's login
            assert config.get(setting), setting


@pytest.mark.e2e
@pytest.mark.parametrize("job", JOBS)
def test_each_prod_job_resolves_with_only_the_documented_variables(meltano, prod_jobs, tmp_path, job):
    env = documented_env(job, tmp_path)
    extractor = extractor_of(prod_jobs[job])

    config = resolved_extractor_config(meltano, job, extractor, env)

    tap_accepts(extractor, config)
    hashing = MessageHasher(config.get("hash_key"), config.get("hash_fields"))  # refuses without a valid key
    assert hashing.paths, f"{extractor}: no personal field configured"
    assert config["hash_key"] == env["PII_HASH_KEY"], "the documented PII_HASH_KEY reaches the extractor's hashing"
    preflight = preflight_module()
    command = prod_jobs[job][0].split(":", 1)[1]
    assert preflight.check(snowflake_settings(preflight, env), preflight_requirements(command), env)


@pytest.mark.parametrize("job", JOBS)
def test_without_any_one_documented_variable_the_preflight_names_it(prod_jobs, tmp_path, job):
    """Every documented variable, taken away in turn: the job's preflight check names exactly that one."""
    preflight = preflight_module()
    command = prod_jobs[job][0].split(":", 1)[1]
    for variable in documented_env(job, tmp_path):
        env = documented_env(job, tmp_path, without=variable)
        with pytest.raises(preflight.PreflightError) as refused:
            preflight.check(snowflake_settings(preflight, env), preflight_requirements(command), env)
        missing = str(refused.value).removeprefix("missing variables: ")
        assert ", " not in missing, f"{job}: without {variable} only it is missing: {refused.value}"
        assert missing.split(" (or ")[0].split(" or ")[0] == variable, (job, variable, str(refused.value))


@pytest.mark.e2e
def test_a_prod_job_missing_one_variable_stops_in_one_line_before_the_tap_starts(meltano, emulator, tmp_path):
    server = emulator("zengrc", seed=7, volume=5)
    env = documented_env("zengrc-to-snowflake", tmp_path, without="ZENGRC_TENANT")
    env["TAP_ZENGRC_API_URL"] = f"{server.url}/api/v2"  # had the tap started, it would have called here

    run = meltano.run("--environment=prod", "run", "zengrc-to-snowflake", env=env, check=False, drop=SCRUB)

    assert run.returncode == 1
    output = run.stdout + run.stderr
    lines = [line for line in output.splitlines() if "snowflake-preflight: " in line]
    assert len(lines) == 1, output
    assert lines[0].endswith(
        "snowflake-preflight: refusing to run the Snowflake load: missing variables: ZENGRC_TENANT"
    )
    assert env["PII_HASH_KEY"] not in output
    assert list(server.emulator.requests) == [], "the tap must not have been started"


#: Config a tap needs to describe its streams (discovery reads no API for these three).
OFFLINE_DISCOVERY = {
    "tap-zengrc": {"username": "u", "password": "p", "api_url": "http://127.0.0.1:9/api/v2"},
    "tap-zendesk": {"email": "a@example.com", "api_token": "t", "subdomain": "acme", "start_date": "2021-01-01"},
    "tap-adaptive": {"username": "u", "password": "p", "api_url": "http://127.0.0.1:9/api/v38"},
}


def extractor_definitions() -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = {}
    for path in PROJECT_ROOT.glob("taps/*/*.meltano.yml"):
        for plugin in yaml.safe_load(path.read_text()).get("plugins", {}).get("extractors", []):
            plugins[plugin["name"]] = plugin
    return plugins


def discovered(tap: str, config: dict[str, Any], folder: Path) -> dict[str, dict[str, Any]]:
    """Stream id -> schema, from the tap's own ``--discover`` (the package the plugin venv installs)."""
    config_file = folder / f"{tap}.json"
    config_file.write_text(json.dumps(config))
    executable = str(Path(MELTANO).with_name(tap))
    done = subprocess.run(
        [executable, "--config", str(config_file), "--discover"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return {stream["tap_stream_id"]: stream["schema"] for stream in json.loads(done.stdout)["streams"]}


@pytest.mark.parametrize(
    "extractor", ["tap-zengrc", "tap-zendesk", "tap-zendesk--community-relations", "tap-adaptive", "tap-xactly"]
)
def test_every_select_pattern_and_every_hashed_stream_names_a_discovered_stream(extractor, xactly_db, tmp_path):
    """A pattern that matches nothing extracts nothing with exit 0; a misspelt hashed stream is never hashed."""
    from meltano.core.plugin.singer.catalog import SelectPattern  # noqa: PLC0415 - Meltano's own parser

    plugins = extractor_definitions()
    plugin = plugins[extractor]
    parent = plugins[plugin.get("inherit_from", extractor)]
    tap = parent["env"]["PII_TAP_EXECUTABLE"]  # the console script under the launcher: landing-tap-<source>
    name = parent["name"]
    config = xactly_db(seed=1, volume=1).tap_config() if name == "tap-xactly" else OFFLINE_DISCOVERY[name]
    streams = discovered(tap, config, tmp_path)

    for text in plugin.get("select", parent.get("select", [])):
        pattern = SelectPattern.parse(text)
        if pattern.negated:
            continue
        matches = [s for s in streams if fnmatch.fnmatch(s, pattern.stream_pattern)]
        assert matches, f"{extractor}: select {text!r} matches no stream of {tap} ({', '.join(sorted(streams))})"
    for stream, paths in parent["config"]["hash_fields"].items():
        assert stream in streams, f"{extractor}: hash_fields names {stream!r}, which {tap} does not have"
        top_level = {path.split(".")[0].removesuffix("[]") for path in paths}
        missing = top_level - set(streams[stream]["properties"])
        assert not missing, f"{extractor}: {stream} has no field {sorted(missing)}"


def test_no_setting_is_declared_decimal():
    """Meltano 4.4 turns a set `kind: decimal` into a Decimal and crashes JSON-encoding the plugin config
    ("Object of type Decimal is not JSON serializable"): fractional settings are `kind: string`."""
    for path in [PROJECT_ROOT / "meltano.yml", *PROJECT_ROOT.glob("taps/*/*.meltano.yml")]:
        plugins = yaml.safe_load(path.read_text()).get("plugins", {})
        for plugin in (p for kind in plugins.values() for p in kind):
            for setting in plugin.get("settings", []):
                assert setting.get("kind") != "decimal", f"{path.name}: {plugin['name']}.{setting['name']}"
