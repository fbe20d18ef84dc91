"""What a user of the published taps and an operator of this project meet first (issue 12).

Packaging metadata as declared (one license, one Python range, versions from each package's own tag), the
release check's archive inspection refusing what the index must not get, ``--about`` markdown that renders as
a page, READMEs that work on the index, one command form for every emulator, dev emulators started and
stopped for operator commands, and the Airflow wrapper working on a fresh checkout. The build-and-install
half (wheels alone in fresh venvs, side by side with singer-io's tap-zendesk) is ``make release-check``,
which ``make test`` runs after these tests.
"""

from __future__ import annotations

import importlib.util
import io
import json
import random
import re
import socket
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from markdown_it import MarkdownIt

from tests.harness import MeltanoSandbox

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPROJECTS = sorted(p for p in [*ROOT.glob("taps/*/pyproject.toml"), *ROOT.glob("libs/*/pyproject.toml")])
TAP_SCRIPTS = ["landing-tap-adaptive", "landing-tap-xactly", "landing-tap-zendesk", "landing-tap-zengrc"]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


release_check = _script("release_check")
dev_emulators = _script("dev_emulators")


def project(pyproject: Path) -> dict[str, object]:
    table: dict[str, object] = tomllib.loads(pyproject.read_text())["project"]
    return table


def test_every_package_is_found() -> None:
    names = sorted(str(project(p)["name"]) for p in PYPROJECTS)
    assert names == [
        "landing-tap-adaptive",
        "landing-tap-kit",
        "landing-tap-xactly",
        "landing-tap-zendesk",
        "landing-tap-zengrc",
    ]


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_one_license_for_the_project_inside_every_package(pyproject: Path) -> None:
    root_license = (ROOT / "LICENSE").read_text()
    assert "Apache License" in root_license
    assert "Version 2.0, January 2004" in root_license
    meta = project(pyproject)
    assert meta["license"] == "Apache-2.0"
    assert meta["license-files"] == ["LICENSE"]
    assert (pyproject.parent / "LICENSE").read_text() == root_license, "copy of the root LICENSE drifted"


def test_requires_python_is_one_range_and_the_classifiers_name_each_version_in_it() -> None:
    ranges = {str(project(p)["requires-python"]) for p in PYPROJECTS}
    assert ranges == {">=3.11,<3.14"}, "one range, tested by make release-check on its lowest and highest Python"
    for pyproject in PYPROJECTS:
        classifiers = list(project(pyproject)["classifiers"])  # type: ignore[call-overload]
        versions = [c.rsplit(" ", 1)[-1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)]
        assert versions == ["3.11", "3.12", "3.13"], pyproject


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_version_comes_from_the_package_own_tag(pyproject: Path) -> None:
    document = tomllib.loads(pyproject.read_text())
    name = document["project"]["name"]
    assert "version" in document["project"]["dynamic"]
    assert "hatch-vcs>=0.4" in document["build-system"]["requires"]
    version = document["tool"]["hatch"]["version"]
    assert version["source"] == "vcs"
    assert re.fullmatch(version["tag-pattern"], f"{name}-v1.2.3")
    assert not re.fullmatch(version["tag-pattern"], "landing-tap-other-v1.2.3")
    describe = version["raw-options"]["scm"]["git"]["describe_command"]
    assert describe[-2:] == ["--match", f"{name}-v*"], "another package's tag must not version this one"
    assert version["fallback-version"] == "0.1.0"


def _wheel(tmp_path: Path, metadata: str, names: list[str]) -> Path:
    path = tmp_path / "landing_tap_demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("landing_tap_demo-1.0.dist-info/METADATA", metadata)
        for name in names:
            wheel.writestr(name, "")
    return path


GOOD_METADATA = "Metadata-Version: 2.4\nName: landing-tap-demo\nVersion: 1.0\nLicense-Expression: Apache-2.0\n"
GOOD_METADATA += "License-File: LICENSE\nRequires-Python: >=3.11,<3.14\n"


def test_release_check_accepts_a_wheel_with_license_and_metadata(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, GOOD_METADATA, ["landing_tap_demo-1.0.dist-info/licenses/LICENSE"])
    assert release_check.inspect_archive(wheel) == {"version": "1.0", "requires_python": ">=3.11,<3.14"}


def test_release_check_refuses_a_wheel_without_its_license_file(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, GOOD_METADATA, [])
    with pytest.raises(release_check.ReleaseCheckError, match="no LICENSE file"):
        release_check.inspect_archive(wheel)


def test_release_check_refuses_another_license(tmp_path: Path) -> None:
    metadata = GOOD_METADATA.replace("Apache-2.0", "MIT")
    wheel = _wheel(tmp_path, metadata, ["landing_tap_demo-1.0.dist-info/licenses/LICENSE"])
    with pytest.raises(release_check.ReleaseCheckError, match="License-Expression is 'MIT'"):
        release_check.inspect_archive(wheel)


def test_release_check_refuses_an_sdist_shipping_tests(tmp_path: Path) -> None:
    path = tmp_path / "landing_tap_demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        for name, text in [("PKG-INFO", GOOD_METADATA), ("LICENSE", ""), ("tests/test_x.py", "")]:
            info = tarfile.TarInfo(f"landing_tap_demo-1.0/{name}")
            info.size = len(text.encode())
            sdist.addfile(info, io.BytesIO(text.encode()))
    with pytest.raises(release_check.ReleaseCheckError, match="ships tests"):
        release_check.inspect_archive(path)


def _markdown_tokens(text: str) -> list[str]:
    return [f"{token.type}:{token.tag}" for token in MarkdownIt("commonmark").parse(text)]


@pytest.mark.parametrize("script", TAP_SCRIPTS)
def test_about_markdown_renders_the_title_as_a_heading_not_a_code_block(script: str) -> None:
    about = subprocess.run(
        [str(BIN / script), "--about", "--format=markdown"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    tokens = _markdown_tokens(about)
    assert tokens[0] == "heading_open:h1", f"{script}: the page starts with {tokens[0]}, not a title"
    before_first_section = tokens[: tokens.index("heading_open:h2")]
    assert "code_block:code" not in before_first_section, f"{script}: title or description indented into code"
    assert "paragraph_open:p" in before_first_section, f"{script}: no description paragraph under the title"


#: READMEs that the index shows: every published package's.
PUBLISHED_READMES = sorted(p.parent / "README.md" for p in PYPROJECTS)


def _links(markdown: str) -> list[str]:
    targets = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        for child in token.children or []:
            if child.type == "link_open":
                targets.append(str(child.attrs["href"]))
            elif child.type == "image":
                targets.append(str(child.attrs["src"]))
    targets += re.findall(r"""<(?:a|img)\b[^>]*\b(?:href|src)=["']([^"']+)""", markdown)
    return targets


@pytest.mark.parametrize("readme", PUBLISHED_READMES, ids=lambda p: p.parent.name)
def test_published_readme_has_no_link_that_only_resolves_inside_this_repository(readme: Path) -> None:
    local = [t for t in _links(readme.read_text()) if not re.match(r"(https?:|mailto:|#)", t)]
    assert local == [], f"{readme.relative_to(ROOT)}: links that break on the package index: {local}"


def test_the_link_check_sees_relative_links() -> None:
    found = _links("See [notes](../../shared/x.md), ![logo](img/logo.png) and [docs](https://example.com).")
    assert found == ["../../shared/x.md", "img/logo.png", "https://example.com"]


def _dev_ports() -> dict[str, set[int]]:
    """Ports meltano.yml's dev environment points each extractor at."""
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    dev = next(env for env in meltano["environments"] if env["name"] == "dev")
    ports: dict[str, set[int]] = {}
    for extractor in dev["config"]["plugins"]["extractors"]:
        url = extractor["config"].get("api_url") or extractor["config"].get("jdbc_url", "")
        match = re.search(r"127\.0\.0\.1:(\d+)", url)
        if match:
            ports.setdefault(extractor["name"].split("--")[0].removeprefix("tap-"), set()).add(int(match.group(1)))
    return ports


def test_dev_emulators_serve_exactly_the_ports_of_the_dev_environment() -> None:
    started: dict[str, set[int]] = {}
    for emulator in dev_emulators.DEV_EMULATORS:
        started.setdefault(emulator.name, set()).add(emulator.port)
    assert started == _dev_ports()


def test_every_emulator_has_one_command_form() -> None:
    from emulators.__main__ import build_parser  # noqa: PLC0415 - the command line under test

    serve = build_parser().parse_args(["serve", "xactly", "--port", "0", "--volume", "3"])
    assert (serve.command, serve.name) == ("serve", "xactly")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["xactly", "--port", "0"])  # the old form is gone ...
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    offenders = []
    for name in tracked.split():
        path = ROOT / name
        readable = path.suffix in {".py", ".md", ".yml", ".sh"} and path.is_file() and path.name != "test_publishing.py"
        if readable and re.search(r"emulators[\"', ]+xactly", path.read_text(errors="replace")):
            offenders.append(name)
    assert offenders == [], f"... and nothing uses it any more: {offenders}"


def test_a_flag_of_another_emulator_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from emulators.__main__ import main  # noqa: PLC0415 - the command line under test

    assert main(["serve", "xactly", "--option", "account=community"]) == 2
    assert capsys.readouterr().err == "emulators: --option does not apply to the xactly emulator\n"


def _free_offset() -> int:
    """A port offset at which every dev emulator port is free (tests never take the real dev ports)."""
    for _ in range(50):
        offset = random.randrange(20000, 50000)
        ports = [emulator.port + offset for emulator in dev_emulators.DEV_EMULATORS]
        with socket.socket() as first:
            if all(first.connect_ex(("127.0.0.1", port)) != 0 for port in ports):
                return offset
    pytest.fail("no free port offset for the dev emulators")


@pytest.mark.e2e
def test_emulators_up_serve_operator_commands_and_down_stops_them(tmp_path: Path, meltano: MeltanoSandbox) -> None:
    offset, state = _free_offset(), tmp_path / "emulators" / "running.json"
    command = [sys.executable, str(ROOT / "scripts" / "dev_emulators.py")]
    up = subprocess.run([*command, "up", "--port-offset", str(offset), "--state", str(state)], text=True, check=False,
                        capture_output=True, timeout=300)  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr
        recorded = json.loads(state.read_text())
        assert sorted(entry["label"] for entry in recorded) == sorted(e.label for e in dev_emulators.DEV_EMULATORS)
        xactly_port = 8715 + offset
        discovered = meltano.run(
            "invoke",
            "tap-xactly",
            "--discover",
            env={"TAP_XACTLY_JDBC_URL": f"jdbc:h2:tcp://127.0.0.1:{xactly_port}/xactly"},
        )
        streams = [stream["tap_stream_id"] for stream in json.loads(discovered.stdout)["streams"]]
        assert "xc_participant" in streams
        again = subprocess.run([*command, "up", "--port-offset", str(offset), "--state", str(state)], text=True,
                               check=True, capture_output=True, timeout=60)  # fmt: skip
        assert "already running" in again.stdout
    finally:
        subprocess.run([*command, "down", "--state", str(state)], check=True, capture_output=True, timeout=120)
    assert not state.exists()
    assert not any(dev_emulators.alive(entry["pid"]) for entry in recorded)
    assert not any(dev_emulators.port_in_use(e.port + offset) for e in dev_emulators.DEV_EMULATORS)


AIRFLOW_SH = ROOT / "orchestrate" / "airflow" / "airflow.sh"


@pytest.mark.skipif(not (ROOT / ".venv-airflow" / "bin" / "airflow").exists(), reason="make airflow-setup first")
def test_airflow_wrapper_lists_the_dags_on_a_fresh_checkout(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow-home")}
    listed = subprocess.run(
        [str(AIRFLOW_SH), "dags", "list", "--local", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    dags = json.loads(next(line for line in listed.stdout.splitlines() if line.startswith("[")))
    schedules = json.loads((ROOT / "orchestrate" / "meltano-schedules.json").read_text())
    names = sorted(f"meltano_{s['name'].replace('-', '_')}" for s in schedules["schedules"]["job"])
    assert sorted(dag["dag_id"] for dag in dags) == names
    stamp = (tmp_path / "airflow-home" / ".db-migrated").read_text()
    assert re.fullmatch(r"[0-9a-f]{40}\n", stamp), "the stamp holds a hash, never the connection string"


def test_publishing_is_manual_and_tokenless() -> None:
    """RELEASING.md's promise: a person starts the release, PyPI trusts the workflow (OIDC), no stored token."""
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert list(triggers) == ["workflow_dispatch"]
    publish = workflow["jobs"]["publish"]
    assert publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    assert any(step.get("uses", "").startswith("pypa/gh-action-pypi-publish") for step in publish["steps"])
    assert "secrets." not in text
    build_steps = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["build"]["steps"])
    assert "scripts/release_check.py" in build_steps


def test_releasing_names_every_distribution_and_its_tag() -> None:
    releasing = (ROOT / "RELEASING.md").read_text()
    for pyproject in PYPROJECTS:
        name = project(pyproject)["name"]
        assert f"`{name}-v<version>`" in releasing, name
