"""``landing-tap-zendesk --about --format=markdown`` is the README's settings source: it must render as Markdown.

The SDK puts the tap class docstring under the title and dedents the block: a multi-line docstring with
indented continuation lines leaves the whole header indented, which Markdown renders as a code block.
"""

from __future__ import annotations

import subprocess
from functools import cache

from landing_tap_zendesk.tap import TapZendesk
from zendesk_support import TAP


@cache
def _about_markdown() -> str:
    done = subprocess.run([TAP, "--about", "--format=markdown"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_about_markdown_renders_the_title_as_a_heading_and_the_description_as_a_paragraph():
    lines = _about_markdown().splitlines()
    header = lines[: lines.index("## Capabilities")]
    assert header[0] == f"# `{TapZendesk.name}`"
    assert not [line for line in header if line.startswith(("    ", "\t"))], "indented lines render as a code block"
    assert TapZendesk.__doc__ is not None
    assert header[2] == TapZendesk.__doc__.strip().splitlines()[0]


def test_about_markdown_lists_every_setting_of_the_config_schema():
    rows = {line.split("|")[1].strip() for line in _about_markdown().splitlines() if line.startswith("| ")}
    assert set(TapZendesk.config_jsonschema["properties"]) <= rows
