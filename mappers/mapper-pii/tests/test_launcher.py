"""``pii-hashed-tap``: the launcher every extractor with personal fields runs through (docs/privacy.md).

A stand-in tap (``fake_tap.py``) prints given Singer lines and records how it was started, so each
test sees exactly what the launcher passed on, what it changed, and whether the tap ran at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mapper_pii.hashing import KeyedHasher

from tests.conftest import KEY
from tests.test_mapper import CONFIG, CONTROLS_SCHEMA, PEOPLE, PEOPLE_SCHEMA, stream_messages

LAUNCHER = str(Path(sys.executable).with_name("pii-hashed-tap"))
FAKE_TAP = Path(__file__).with_name("fake_tap.py")


class Launch:
    """One launcher run in ``folder``: its config file, the tap's output and the tap's event log."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tap = folder / "tap-fake"
        self.tap.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_TAP}" "$@"\n')
        self.tap.chmod(0o755)
        self.log = folder / "tap-events.jsonl"
        self.output = folder / "tap-output.jsonl"
        self.config = folder / "config.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_TAP_", "PII_"))}
        env.update(
            {"PII_TAP_EXECUTABLE": str(self.tap), "FAKE_TAP_LOG": str(self.log), "FAKE_TAP_OUTPUT": str(self.output)}
        )
        env.update(extra)
        return env

    def prepare(self, config: dict[str, Any] | None, lines: list[bytes]) -> None:
        if config is not None:
            self.config.write_text(json.dumps(config))
        self.output.write_bytes(b"".join(lines))

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([LAUNCHER, *args], env=self.env(**env), capture_output=True, timeout=60, check=False)

    @property
    def events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def jsonl(messages: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(m).encode() + b"\n" for m in messages]


@pytest.fixture
def launch(tmp_path: Path) -> Launch:
    return Launch(tmp_path)


def test_a_sync_hashes_configured_fields_and_passes_every_other_line_byte_for_byte(launch) -> None:
    lines = jsonl(stream_messages())
    launch.prepare({"api_url": "http://x", **CONFIG}, lines)

    done = launch.run("--config", str(launch.config), "--state", "state.json")

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines(keepends=True)
    assert len(out) == len(lines)
    hasher = KeyedHasher(KEY)
    records = [json.loads(line)["record"] for line in out if b'"people"' in line and b"RECORD" in line]
    assert records == [
        {"id": p["id"], "name": hasher(p["name"]), "email": hasher(p["email"]), "role": p["role"]} for p in PEOPLE
    ]
    schema = json.loads(out[0])["schema"]
    assert schema["properties"]["email"]["type"] == ["string", "null"]
    unchanged = [line for line in lines if b'"people"' not in line]
    assert unchanged, "the fixture has lines of other streams"
    assert [line for line in out if b'"people"' not in line] == unchanged
    assert launch.events == [{"argv": ["--config", str(launch.config), "--state", "state.json"]}]


def test_hashes_equal_the_mapper_output_for_the_same_messages(launch, run_mapper) -> None:
    """One implementation: what the launcher emits is what the mapper-pii step used to emit."""
    messages = stream_messages()
    launch.prepare(CONFIG, jsonl(messages))
    launched = launch.run("--config", str(launch.config))
    mapped = run_mapper(CONFIG, messages)
    assert mapped.returncode == 0, mapped.stderr
    assert [json.loads(line) for line in launched.stdout.splitlines()] == mapped.messages


def test_numbers_hash_from_the_text_the_tap_wrote(launch) -> None:
    schema = {"type": "object", "properties": {"ID": {"type": "integer"}, "SALARY": {"type": ["number", "null"]}}}
    lines = [
        json.dumps({"type": "SCHEMA", "stream": "xc_participant", "schema": schema, "key_properties": ["ID"]}).encode()
        + b"\n",
        b'{"type":"RECORD","stream":"xc_participant","record":{"ID":1,"SALARY":85000.00}}\n',
    ]
    launch.prepare({"hash_key": KEY, "hash_fields": {"xc_participant": ["SALARY"]}}, lines)
    done = launch.run("--config", str(launch.config))
    record = json.loads(done.stdout.splitlines()[1])["record"]
    assert record == {"ID": 1, "SALARY": KeyedHasher(KEY)("85000")}


@pytest.mark.parametrize("flag", ["--about", "--help", "--version", "--discover"])
def test_commands_without_records_run_the_tap_unchanged_and_need_no_key(launch, flag) -> None:
    launch.prepare(None, [b'{"not": "parsed" \n'])  # whatever the tap prints comes through as is
    done = launch.run(flag, "--config", "missing.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b'{"not": "parsed" \n'
    assert launch.events == [{"argv": [flag, "--config", "missing.json"]}]


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"hash_fields": {"people": ["email"]}}, "hash_key is not set (export PII_HASH_KEY)"),
        ({"hash_key": "", "hash_fields": {"people": ["email"]}}, "hash_key is not set (export PII_HASH_KEY)"),
        ({"hash_key": "short-key", "hash_fields": {"people": ["email"]}}, "hash_key is shorter than 16 characters"),
        ({"hash_key": KEY, "hash_fields": {"people": ["e mail"]}}, "invalid field path 'e mail'"),
        ({**CONFIG, "stream_maps": {"people": {"__alias__": "persons"}}}, "stream_maps would rename streams"),
        ({**CONFIG, "flattening_enabled": True}, "flattening_enabled would rename streams or fields"),
    ],
)
def test_a_sync_without_a_valid_key_refuses_in_one_line_before_the_tap_starts(launch, config, reason) -> None:
    launch.prepare(config, jsonl(stream_messages()))
    done = launch.run("--config", str(launch.config))
    assert done.returncode == 1
    assert done.stdout == b""
    (line,) = done.stderr.decode().splitlines()
    assert line.startswith("pii-hashed-tap: refusing to start: ")
    assert reason in line
    assert launch.events == [], "the tap must not have been started"


def test_without_the_tap_variable_nothing_runs(launch) -> None:
    launch.prepare(CONFIG, [])
    env = launch.env()
    del env["PII_TAP_EXECUTABLE"]
    done = subprocess.run([LAUNCHER, "--config", str(launch.config)], env=env, capture_output=True, check=False)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        "pii-hashed-tap: PII_TAP_EXECUTABLE is not set: it names the tap executable this launcher runs"
    )


def test_a_misspelt_field_stops_the_tap_before_any_record_of_its_stream(launch) -> None:
    launch.prepare({"hash_key": KEY, "hash_fields": {"people": ["emial"]}}, jsonl(stream_messages()))
    done = launch.run("--config", str(launch.config))
    assert done.returncode == 1
    assert b'"RECORD"' not in done.stdout
    assert done.stderr.decode().strip() == (
        "pii-hashed-tap: stream 'people' has no field 'emial' for hash path 'emial'"
    )


def test_batch_messages_of_hashed_streams_are_refused(launch) -> None:
    batch = {"type": "BATCH", "stream": "people", "encoding": {"format": "jsonl"}, "manifest": ["file:///b.jsonl"]}
    launch.prepare(CONFIG, jsonl([batch]))
    done = launch.run("--config", str(launch.config))
    assert done.returncode == 1
    assert "stream 'people' sent a BATCH message" in done.stderr.decode()
    assert done.stdout == b""


def test_the_tap_exit_code_is_the_launcher_exit_code(launch) -> None:
    launch.prepare(CONFIG, jsonl(stream_messages()[:2]))
    done = launch.run("--config", str(launch.config), FAKE_TAP_EXIT="3")
    assert done.returncode == 3
    assert len(done.stdout.splitlines()) == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_reach_the_tap(launch, signum) -> None:
    launch.prepare(CONFIG, jsonl(stream_messages()[:1]))
    proc = subprocess.Popen(
        [LAUNCHER, "--config", str(launch.config)],
        env=launch.env(FAKE_TAP_WAIT_FOR_SIGNAL="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline(), "the tap's first line arrives before the signal is sent"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert launch.events[-1] == {"signal": signal.Signals(signum).name}
    assert proc.returncode == 128 + signum, stderr


def test_the_key_never_appears_in_the_output(launch) -> None:
    launch.prepare(CONFIG, jsonl(stream_messages()))
    done = launch.run("--config", str(launch.config))
    assert done.returncode == 0
    assert KEY.encode() not in done.stdout + done.stderr


def test_extra_fields_values_are_hashed_alike_by_the_launcher_and_the_mapper(launch, run_mapper) -> None:
    """A vendor's new personal attribute, and a drifted field's raw value, land in extra_fields."""
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": ["string", "null"]},
            "extra_fields": {"type": ["object", "null"], "additionalProperties": True},
        },
    }
    extras = [
        {"mobile_phone": "+1 555 010 2000", "email": {"primary": "ana.lopez@example.com"}},
        None,
        {},
    ]
    messages = [
        {"type": "SCHEMA", "stream": "people", "schema": schema, "key_properties": ["id"]},
        *(
            {"type": "RECORD", "stream": "people", "record": {"id": n, "email": None, "extra_fields": extra}}
            for n, extra in enumerate(extras)
        ),
    ]
    config = {"hash_key": KEY, "hash_fields": {"people": ["email", "extra_fields.*"]}}
    launch.prepare(config, jsonl(messages))

    launched = launch.run("--config", str(launch.config))

    assert launched.returncode == 0, launched.stderr
    assert b"+1 555 010 2000" not in launched.stdout
    assert b"5550102000" not in launched.stdout
    assert b"ana.lopez" not in launched.stdout
    out = [json.loads(line) for line in launched.stdout.splitlines()]
    hasher = KeyedHasher(KEY)
    assert [m["record"]["extra_fields"] for m in out[1:]] == [
        {"mobile_phone": hasher("+15550102000"), "email": hasher({"primary": "ana.lopez@example.com"})},
        None,
        {},
    ]
    assert out[0]["schema"]["properties"]["extra_fields"]["additionalProperties"]["type"] == ["string", "null"]
    mapped = run_mapper(config, messages)
    assert mapped.returncode == 0, mapped.stderr
    assert out == mapped.messages


def test_lines_of_streams_without_personal_fields_pass_without_being_parsed(launch) -> None:
    """Only configured streams are decoded: a line of another stream is copied even if it would not parse.

    Its first bytes say which stream it belongs to, so mentioning a hashed stream's name in a value
    (here "people") does not make the launcher parse it either.
    """
    unparsable = b'{"type":"RECORD","stream":"controls","record":{"id":9,"title":"people"},NOT-JSON\n'
    lines = [*jsonl([CONTROLS_SCHEMA]), unparsable, *jsonl(stream_messages()[:2])]
    launch.prepare(CONFIG, lines)

    done = launch.run("--config", str(launch.config))

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines(keepends=True)
    assert out[:2] == lines[:2]
    assert json.loads(out[3])["record"]["email"] == KeyedHasher(KEY)(PEOPLE[0]["email"])


def test_batch_messages_of_streams_without_personal_fields_pass_through(launch) -> None:
    """Adaptive's exportData has no personal fields: its BATCH files go to the loader as the tap wrote them."""
    batch = {
        "type": "BATCH",
        "stream": "export_data",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": ["file:///tmp/b-1.json.gz", "file:///tmp/b-2.json.gz"],
    }
    lines = jsonl([batch, *stream_messages()])
    launch.prepare(CONFIG, lines)

    done = launch.run("--config", str(launch.config))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines(keepends=True)[0] == lines[0]
    assert "export_data: 0 records in 0.0s, 2 batch file(s), no state" in done.stderr.decode().splitlines()


def test_a_clean_run_ends_with_one_summary_line_per_stream(launch) -> None:
    """Records per stream, whether the last state covers it, and whether a complete copy retired older rows."""
    launch.prepare(CONFIG, jsonl(stream_messages()))

    done = launch.run("--config", str(launch.config))

    assert done.returncode == 0, done.stderr
    lines = done.stderr.decode().splitlines()
    people = next(line for line in lines if line.startswith("people: "))
    controls = next(line for line in lines if line.startswith("controls: "))
    assert people.startswith(f"people: {len(PEOPLE)} records in ")
    assert people.endswith(", state saved, complete copy activated, rows missing from it retired")
    assert controls.startswith("controls: 1 records in ")
    assert controls.endswith(", no state")
    assert len(lines) == 2, lines


def test_a_failed_run_prints_no_summary_after_the_taps_own_error(launch) -> None:
    launch.prepare(CONFIG, jsonl(stream_messages()))
    done = launch.run("--config", str(launch.config), FAKE_TAP_EXIT="2")
    assert done.returncode == 2
    assert done.stderr == b""


def test_a_record_of_a_hashed_stream_in_an_unusual_shape_is_still_hashed(launch) -> None:
    """Mixed spacing defeats the byte-level header read: the line is parsed instead, never passed as is."""
    odd = b'{"type":"RECORD", "stream": "people", "record": {"id": 1, "name": "Ana Lopez", "email": "a@x.org"}}\n'
    launch.prepare(CONFIG, [*jsonl([PEOPLE_SCHEMA]), odd])

    done = launch.run("--config", str(launch.config))

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.splitlines()[1])["record"]
    assert record == {"id": 1, "name": KeyedHasher(KEY)("Ana Lopez"), "email": KeyedHasher(KEY)("a@x.org")}
