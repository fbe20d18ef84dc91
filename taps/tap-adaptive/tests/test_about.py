"""What a user reads first: ``--about --format=markdown`` renders as a page, not as code."""

from __future__ import annotations

import subprocess

from tests.conftest import TAP


def test_about_markdown_title_is_a_heading_and_the_description_plain_text():
    about = subprocess.run([TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True).stdout
    lines = about.splitlines()
    assert lines[0] == "# `tap-adaptive`"
    intro = lines[1 : lines.index("## Capabilities")]
    # An indented line (a multi-line class docstring) renders as a code block on the package index.
    assert not [line for line in intro if line.startswith(("    ", "\t"))]
    assert any("Workday Adaptive Planning" in line for line in intro)
