"""What a user reads first: ``--about --format=markdown`` renders as a page, not as code (issue 12)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from markdown_it import MarkdownIt

from tests.test_errors import TAP


def test_about_markdown_renders_a_heading_and_plain_text_before_the_capabilities():
    about = subprocess.run([TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True).stdout
    intro = about[: about.index("## Capabilities")]
    tokens = MarkdownIt("commonmark").parse(intro)
    assert tokens[0].type == "heading_open"
    assert tokens[0].tag == "h1"
    assert tokens[1].content == "`tap-xactly`"
    # A multi-line class docstring is indented: CommonMark renders it as a code block.
    assert not [token for token in tokens if token.type in {"code_block", "fence"}]
    paragraphs = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "paragraph_open"]
    assert any("Xactly Incent" in text for text in paragraphs)


def test_readme_links_resolve_outside_this_repository():
    """The README is the package's page on the index: a relative link there leads nowhere."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(readme)
    links = [child.attrs["href"] for token in tokens for child in token.children or [] if child.type == "link_open"]
    assert links, "the README links the SDK and Singer"
    assert [str(link) for link in links if not str(link).startswith("https://")] == []
