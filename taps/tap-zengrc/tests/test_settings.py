"""Numeric settings accept what Meltano sends: JSON numbers and numeric strings (issue 10 §6)."""

from __future__ import annotations

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


@pytest.mark.parametrize("value", ["2.5", 2.5, 2, "2"])
@pytest.mark.parametrize("setting", ["retry_base_seconds", "max_retry_seconds"])
def test_fractional_settings_take_numbers_and_numeric_strings(setting, value):
    stream = TapZenGRC(config=tap_config("http://unused", **{setting: value}), validate_config=True).streams["issues"]
    if setting == "max_retry_seconds":
        assert stream.retry_budget.limit_seconds == float(value)
    else:
        waits = stream.backoff_wait_generator()
        next(waits)
        assert waits.send(RuntimeError("no Retry-After")) == float(value)


@pytest.mark.parametrize("value", ["30", 30])
def test_integer_settings_take_numbers_and_numeric_strings(value):
    stream = TapZenGRC(config=tap_config("http://unused", request_timeout=value), validate_config=True).streams[
        "issues"
    ]
    assert stream.timeout == 30


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
