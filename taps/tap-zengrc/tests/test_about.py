"""`landing-tap-zengrc --about --format=markdown` is the README's settings source: it must render as intended."""

from __future__ import annotations

import subprocess

from landing_tap_zengrc.tap import TapZenGRC

from tests.support import TAP, clean_environment


def _about_markdown() -> str:
    result = subprocess.run(
        [TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True, env=clean_environment()
    )
    return result.stdout


def test_the_title_and_description_render_as_text_not_as_a_code_block():
    """An indented line after a blank one is a Markdown code block (a multi-line class docstring did that)."""
    lines = _about_markdown().splitlines()
    assert lines[0] == "# `tap-zengrc`"
    description = lines[2]
    assert description.startswith("Extracts every ZenGRC collection")
    indented = [line for line in lines if line.startswith(("    ", "\t")) and not line.lstrip().startswith("|")]
    assert indented == []


def test_every_setting_is_in_the_settings_table():
    about = _about_markdown()
    for setting in TapZenGRC.config_jsonschema["properties"]:
        assert f"| {setting} " in about, setting
