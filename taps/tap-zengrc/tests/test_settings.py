"""Numeric settings accept what Meltano sends: JSON numbers and numeric strings (issue 10 §6)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from landing_tap_zengrc.tap import TapZenGRC
from singer_sdk.exceptions import ConfigValidationError

from tests.support import KEY_ID, KEY_SECRET, catalog_selecting, clean_environment, tap_config

PROJECT = Path(__file__).resolve().parents[3]
MELTANO = Path(sys.executable).with_name("meltano")
PLUGIN_VENV = PROJECT / ".meltano" / "extractors" / "tap-zengrc"


@pytest.mark.parametrize("as_text", [True, False], ids=["numeric strings", "JSON numbers"])
def test_numeric_settings_govern_retries_whether_sent_as_text_or_numbers(emulator, tap, tmp_path, as_text):
    """One 503 is retried after at most `retry_base_seconds`; a Retry-After beyond `max_retry_seconds` ends the run."""
    rules = [
        {"kind": "status", "status": 503, "path": "/issues$", "times": 1},
        {"kind": "status", "status": 429, "retry_after": 3600, "path": "/risks$", "times": None},
    ]
    server = emulator("zengrc", seed=12, volume=4, only="issues,risks", faults=rules)
    settings = {"retry_base_seconds": 0.05, "max_retry_seconds": 30.5, "max_retries": 4, "request_timeout": 30}
    config = tap_config(server.url, **{name: str(value) if as_text else value for name, value in settings.items()})
    run = tap(config, "--catalog", catalog_selecting(tmp_path, "issues", "risks"))
    assert run.returncode == 1
    assert len(run.records("issues")) == 4
    waits = [float(w) for w in re.findall(r"Retrying in ([0-9.]+) s", run.log)]
    assert len(waits) == 1
    assert 0.025 <= waits[0] <= 0.05
    assert "(max_retry_seconds=30.5; the server asked to wait 3600 s" in run.error_lines()[-1]


def test_a_non_numeric_value_is_a_config_error_naming_the_setting():
    with pytest.raises(ConfigValidationError) as error:
        TapZenGRC(config=tap_config("http://unused", retry_base_seconds="soon"), validate_config=True)
    assert "soon" in str(error.value.errors)


@pytest.mark.skipif(not PLUGIN_VENV.exists() or not MELTANO.exists(), reason="needs `meltano install` of tap-zengrc")
def test_retry_base_seconds_set_through_meltano_reaches_the_tap(emulator, tmp_path):
    """With `kind: decimal`, TAP_ZENGRC_RETRY_BASE_SECONDS=2.5 crashed Meltano ("Decimal is not JSON serializable")."""
    project = tmp_path / "project"
    (project / ".meltano" / "extractors").mkdir(parents=True)
    shutil.copy(PROJECT / "meltano.yml", project / "meltano.yml")
    for plugin_file in PROJECT.glob("taps/*/*.meltano.yml"):
        target = project / plugin_file.relative_to(PROJECT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(plugin_file, target)
    (project / ".meltano" / "extractors" / "tap-zengrc").symlink_to(PLUGIN_VENV)
    server = emulator("zengrc", seed=13, volume=3, only="controls")
    env = clean_environment(
        TAP_ZENGRC_API_URL=f"{server.url}/api/v2",
        TAP_ZENGRC_USERNAME=KEY_ID,
        TAP_ZENGRC_PASSWORD=KEY_SECRET,
        TAP_ZENGRC_MAX_RETRY_SECONDS="30.5",
        TAP_ZENGRC_RETRY_BASE_SECONDS="2.5",
        PII_HASH_KEY="a-test-only-hash-key-of-enough-length",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
    )

    def meltano(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MELTANO), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    configured = meltano("config", "set", "tap-zengrc", "retry_base_seconds", "1.5")
    assert configured.returncode == 0, configured.stderr
    catalog = catalog_selecting(tmp_path, "controls")
    run = meltano("invoke", "tap-zengrc", "--catalog", catalog)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Decimal" not in run.stderr
    assert run.stdout.count('"type":"RECORD"') == 3
