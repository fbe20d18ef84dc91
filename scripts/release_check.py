"""``make release-check``: what a release would publish, built and used the way a stranger would use it.

1. Build every distribution (each tap and the shared kit) with ``python -m build``: a wheel and an sdist.
2. Look inside every archive: LICENSE present, ``License-Expression: Apache-2.0``, one ``Requires-Python`` for
   all, no tests in an sdist (they need this repository's emulators). Each archive's listing is printed.
3. ``twine check --strict`` every archive (what the index would refuse to render).
4. Per tap, per Python (the lowest and highest the classifiers declare): a fresh venv, the wheel ALONE installed
   with no project lock (the kit comes from the local dist folder, everything else from the index), then
   ``--version`` (must report the built version), ``--about --format=json`` and ``--discover``. Discovery of the
   HTTP taps must not need the network (their API URL points at a closed port); Xactly's needs its database,
   so the Xactly emulator (H2 over JDBC, ``python -m emulators serve xactly``) runs for it.
5. One venv with the four wheels and singer-io's ``tap-zendesk`` side by side: no file belongs to two
   distributions, each of our CLIs still discovers, singer-io's CLI still starts, and each import name resolves
   to its own distribution.

Exit 0 only when every step passed; a failure prints one line naming the archive, venv or command.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LICENSE_EXPRESSION = "Apache-2.0"
#: singer-io's tap-zendesk, the distribution whose names ours once shadowed. It pins jsonschema 2.x and PyPI
#: ``backoff``, which no resolver can put beside singer-sdk 0.54 (jsonschema>=4.16) or python-backoff (the same
#: ``backoff`` module): so it goes in without its pins, with the rest of what it imports.
SINGER_IO_ZENDESK = ["tap-zendesk==2.8.2", "singer-python==6.0.1", "zenpy==2.0.24"]
SINGER_IO_ZENDESK_RUNTIME = ["aiohttp", "cachetools", "ciso8601", "python-dateutil", "pytz", "six"]
#: An address nothing listens on: the HTTP taps must discover without reaching their API.
CLOSED_URL = "http://127.0.0.1:9"
#: Environment that would make an install quietly follow this project's pins instead of the package's own.
LOCK_VARIABLES = ("UV_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "PIP_CONSTRAINT", "VIRTUAL_ENV")


class ReleaseCheckError(Exception):
    """One failed expectation; its message is the one line printed."""


@dataclass(frozen=True)
class Package:
    """A distribution of this repository, as found on disk and after it was built."""

    folder: Path
    name: str  # distribution name, also the console script of a tap

    @property
    def is_tap(self) -> bool:
        """Taps have a console script of their own name; the kit is a library."""
        return self.folder.parent.name == "taps"

    @property
    def archive_stem(self) -> str:
        """How wheel and sdist file names spell the distribution."""
        return self.name.replace("-", "_")


def packages() -> list[Package]:
    """Every publishable distribution: each tap and each library under libs/."""
    found = []
    for pyproject in sorted([*ROOT.glob("taps/*/pyproject.toml"), *ROOT.glob("libs/*/pyproject.toml")]):
        match = re.search(r'^name = "([^"]+)"', pyproject.read_text(), re.MULTILINE)
        if match:
            found.append(Package(pyproject.parent, match.group(1)))
    return found


def run(cmd: list[str], *, what: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a command; on failure raise with its last stderr line and what it was for."""
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        msg = f"{what}: exit {result.returncode}: {lines[-1]}"
        raise ReleaseCheckError(msg)
    return result.stdout


def clean_env() -> dict[str, str]:
    """The caller's environment without anything that would pin an install to the project's lock."""
    return {key: value for key, value in os.environ.items() if key not in LOCK_VARIABLES}


def build(dist: Path, package: Package) -> None:
    """Wheel and sdist of one package (the wheel built from the sdist, as ``python -m build`` does)."""
    cmd = [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(dist), str(package.folder)]
    env = {**clean_env(), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run(cmd, what=f"build {package.name}", env=env)


def archives_of(dist: Path, package: Package) -> tuple[Path, Path]:
    """The one wheel and the one sdist built for ``package``."""
    wheels = sorted(dist.glob(f"{package.archive_stem}-*.whl"))
    sdists = sorted(dist.glob(f"{package.archive_stem}-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        msg = f"{package.name}: expected one wheel and one sdist in {dist}, found {len(wheels)} and {len(sdists)}"
        raise ReleaseCheckError(msg)
    return wheels[0], sdists[0]


def archive_listing(archive: Path) -> tuple[list[str], str]:
    """File names inside a wheel or sdist and the text of its core metadata."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            names = wheel.namelist()
            metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
            return names, wheel.read(metadata).decode()
    with tarfile.open(archive) as sdist:
        names = sdist.getnames()
        pkg_info = next(n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO"))
        member = sdist.extractfile(pkg_info)
        assert member is not None  # PKG-INFO is a regular file
        return names, member.read().decode()


def inspect_archive(archive: Path) -> dict[str, str]:
    """Check one archive's license, metadata and contents; return its metadata headers for comparison."""
    names, metadata_text = archive_listing(archive)
    metadata = HeaderParser().parsestr(metadata_text)
    if archive.suffix == ".whl":
        license_paths = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        tests = []
    else:
        license_paths = [n for n in names if n.count("/") == 1 and n.endswith("/LICENSE")]
        tests = [n for n in names if "/tests/" in n or n.endswith("/tests")]
    problems = []
    if not license_paths:
        problems.append("no LICENSE file")
    if metadata.get("License-Expression") != LICENSE_EXPRESSION:
        problems.append(f"License-Expression is {metadata.get('License-Expression')!r}, not {LICENSE_EXPRESSION}")
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append("no License-File: LICENSE in its metadata")
    if not metadata.get("Requires-Python"):
        problems.append("no Requires-Python")
    if tests:
        problems.append(f"ships tests that need this repository ({tests[0]})")
    if problems:
        raise ReleaseCheckError(f"{archive.name}: {'; '.join(problems)}")
    print(
        f"  {archive.name}: {len(names)} files, LICENSE at {license_paths[0]}, "
        f"License-Expression {metadata['License-Expression']}, Requires-Python {metadata['Requires-Python']}"
    )
    return {"version": metadata["Version"], "requires_python": metadata["Requires-Python"]}


def declared_pythons(wheel: Path) -> list[str]:
    """``3.x`` versions a wheel's classifiers declare."""
    _, metadata_text = archive_listing(wheel)
    classifiers = HeaderParser().parsestr(metadata_text).get_all("Classifier") or []
    prefix = "Programming Language :: Python :: "
    versions = [c.removeprefix(prefix) for c in classifiers if re.fullmatch(r"3\.\d+", c.removeprefix(prefix))]
    return sorted(versions, key=lambda v: int(v.split(".")[1]))


def find_python(version: str) -> Path:
    """An interpreter for ``version``: uv's discovery, else pyenv's install folder.

    uv skips pyenv versions that are installed but not selected; where uv cannot download interpreters,
    those are what there is.
    """
    found = subprocess.run(
        [str(BIN / "uv"), "python", "find", "--no-python-downloads", version],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip())
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        return candidate
    msg = f"no Python {version} interpreter: install one (uv python install {version}, pyenv, Debian) or pass --python"
    raise ReleaseCheckError(msg)


def make_venv(path: Path, python: Path) -> Path:
    """A fresh venv; returns its bin folder."""
    run([str(BIN / "uv"), "venv", "-q", "--python", str(python), str(path)], what=f"venv {path.name}")
    return path / "bin"


def install(bin_dir: Path, requirements: list[str], *, dist: Path, no_deps: bool = False) -> None:
    """Install into a venv with the index plus the local dist folder (for the kit), and no project lock."""
    cmd = [str(BIN / "uv"), "pip", "install", "-q", "--python", str(bin_dir / "python"), "--find-links", str(dist)]
    run([*cmd, *(["--no-deps"] if no_deps else []), *requirements], what=f"install into {bin_dir.parent.name}")


@contextmanager
def xactly_emulator() -> Iterator[dict[str, object]]:
    """The Xactly emulator (H2 over TCP) and the tap config that reaches it through H2's JDBC driver."""
    from emulators.xactly import h2  # noqa: PLC0415 - only the dev venv has the emulators, and only this needs them

    cmd = [sys.executable, "-m", "emulators", "serve", "xactly", "--port", "0", "--volume", "3", "--table", "xc_user"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None  # stdout=PIPE
        line = proc.stdout.readline()
        if not line:
            msg = f"the Xactly emulator did not start (exit {proc.wait()}): {' '.join(cmd)}"
            raise ReleaseCheckError(msg)
        yield {
            "jdbc_url": json.loads(line)["url"],
            "driver_class": h2.DRIVER_CLASS,
            "driver_jar": str(h2.H2_JAR),
            "username": h2.USER,
            "password": h2.PASSWORD,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def discovery_config(name: str, xactly: dict[str, object]) -> dict[str, object]:
    """The least config each tap discovers with."""
    configs: dict[str, dict[str, object]] = {
        "landing-tap-zengrc": {"username": "u", "password": "p", "api_url": f"{CLOSED_URL}/api/v2"},
        "landing-tap-adaptive": {"username": "u", "password": "p", "api_url": f"{CLOSED_URL}/api/v38"},
        "landing-tap-zendesk": {
            "api_url": f"{CLOSED_URL}/api/v2",
            "email": "e@example.com",
            "api_token": "t",
            "start_date": "2024-01-01T00:00:00Z",
        },
        "landing-tap-xactly": xactly,
    }
    return configs[name]


def exercise_cli(bin_dir: Path, name: str, version: str | None, config: dict[str, object], where: str) -> int:
    """``--version``, ``--about`` and ``--discover`` of one installed tap; returns the number of streams found."""
    exe = str(bin_dir / name)
    said = run([exe, "--version"], what=f"{name} --version ({where})")
    if version is not None and f"v{version}," not in said:
        msg = f"{name} --version ({where}) says {said.strip()!r}, not the built version {version}"
        raise ReleaseCheckError(msg)
    about = json.loads(run([exe, "--about", "--format=json"], what=f"{name} --about ({where})"))
    if not about.get("settings", {}).get("properties"):
        raise ReleaseCheckError(f"{name} --about ({where}) lists no settings")
    config_file = bin_dir.parent / f"{name}-config.json"
    config_file.write_text(json.dumps(config))
    catalog = json.loads(run([exe, "--config", str(config_file), "--discover"], what=f"{name} --discover ({where})"))
    if not catalog.get("streams"):
        raise ReleaseCheckError(f"{name} --discover ({where}) found no streams")
    return len(catalog["streams"])


def smoke(wheel: Path, package: Package, version: str, python: Path, label: str, **context: object) -> str:
    """One tap's wheel alone in a fresh venv on one Python."""
    workdir, dist = Path(str(context["workdir"])), Path(str(context["dist"]))
    bin_dir = make_venv(workdir / f"{package.name}-py{label}", python)
    install(bin_dir, [str(wheel)], dist=dist)
    config = discovery_config(package.name, context["xactly"])  # type: ignore[arg-type]
    streams = exercise_cli(bin_dir, package.name, version, config, f"Python {label}, wheel alone")
    return f"  {package.name} on Python {label}: --version {version}, --about, --discover {streams} streams"


OWNERSHIP_PROBE = """
import importlib.metadata as md, json, sys
owners = {}
for dist in md.distributions():
    for file in dist.files or []:
        if file.suffix == ".pyc" or file.parts[0].endswith((".dist-info", ".data")):
            continue
        owners.setdefault(str(file), set()).add(dist.metadata["Name"])
clashes = {path: sorted(names) for path, names in owners.items() if len(names) > 1}
import landing_tap_zendesk, tap_zendesk
print(json.dumps({"clashes": clashes, "ours": landing_tap_zendesk.__file__, "theirs": tap_zendesk.__file__,
                  "theirs_dist": md.packages_distributions()["tap_zendesk"]}))
"""


def side_by_side(taps: dict[str, Path], python: Path, label: str, **context: object) -> str:
    """All four taps (name -> wheel) and singer-io's tap-zendesk in one venv, each still working."""
    workdir, dist = Path(str(context["workdir"])), Path(str(context["dist"]))
    bin_dir = make_venv(workdir / f"side-by-side-py{label}", python)
    install(bin_dir, [str(w) for w in taps.values()], dist=dist)
    install(bin_dir, SINGER_IO_ZENDESK, dist=dist, no_deps=True)
    install(bin_dir, SINGER_IO_ZENDESK_RUNTIME, dist=dist)
    probe = json.loads(run([str(bin_dir / "python"), "-c", OWNERSHIP_PROBE], what="side-by-side ownership probe"))
    if probe["clashes"]:
        path, names = next(iter(probe["clashes"].items()))
        msg = f"side by side: {path} belongs to {' and '.join(names)} ({len(probe['clashes'])} clashing files)"
        raise ReleaseCheckError(msg)
    if probe["theirs_dist"] != ["tap-zendesk"] or "landing_tap_zendesk" not in probe["ours"]:
        raise ReleaseCheckError(f"side by side: import names resolve to the wrong distributions: {probe}")
    for name in taps:
        config = discovery_config(name, context["xactly"])  # type: ignore[arg-type]
        exercise_cli(bin_dir, name, None, config, "side by side with singer-io tap-zendesk")
    usage = run([str(bin_dir / "tap-zendesk"), "--help"], what="singer-io tap-zendesk --help (side by side)")
    if "--discover" not in usage:
        raise ReleaseCheckError("singer-io tap-zendesk --help (side by side) printed no usage")
    return (
        f"  side by side on Python {label}: {', '.join(sorted(taps))} + singer-io {SINGER_IO_ZENDESK[0]}: "
        "no shared files, every CLI works"
    )


def main(argv: list[str] | None = None) -> int:
    """Build, inspect, check and smoke-test every distribution."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / "release", help="where archives are built")
    parser.add_argument("--python", action="append", help="3.x to smoke-test (default: lowest and highest declared)")
    parser.add_argument("--keep", action="store_true", help="keep the venvs (printed) instead of removing them")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        lines = check(args.dist, args.python, keep=args.keep)
    except (ReleaseCheckError, subprocess.TimeoutExpired) as error:
        print(f"release-check: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    print(f"release-check: OK in {time.monotonic() - started:.0f} s")
    return 0


def check(dist: Path, pythons: list[str] | None, *, keep: bool) -> list[str]:
    """Every step of the module docstring; returns the smoke-test lines."""
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    found = packages()
    print(f"release-check: building {', '.join(p.name for p in found)}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda package: build(dist, package), found))
    wheels, versions, requires = {}, {}, set()
    for package in found:
        wheel, sdist = archives_of(dist, package)
        for archive in (wheel, sdist):
            metadata = inspect_archive(archive)
            requires.add(metadata["requires_python"])
        wheels[package.name], versions[package.name] = wheel, metadata["version"]
    if len(requires) != 1:
        raise ReleaseCheckError(f"packages disagree on Requires-Python: {sorted(requires)}")
    run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))], what="twine check")
    print(f"  twine check --strict: {len(list(dist.iterdir()))} archives PASSED", flush=True)
    taps = [p for p in found if p.is_tap]
    declared = declared_pythons(wheels[taps[0].name])
    chosen = pythons or sorted({declared[0], declared[-1]}, key=declared.index)
    interpreters = {version: find_python(version) for version in chosen}
    workdir = Path(tempfile.mkdtemp(prefix="release-check-"))
    lines = []
    try:
        with xactly_emulator() as xactly, concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            context = {"workdir": workdir, "dist": dist, "xactly": xactly}
            jobs = [
                pool.submit(smoke, wheels[p.name], p, versions[p.name], python, label, **context)
                for label, python in interpreters.items()
                for p in taps
            ]
            tap_wheels = {p.name: wheels[p.name] for p in taps}
            jobs.append(pool.submit(side_by_side, tap_wheels, interpreters[chosen[0]], chosen[0], **context))
            lines = [job.result() for job in jobs]
    finally:
        if keep:
            print(f"  venvs kept under {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return lines


if __name__ == "__main__":
    sys.exit(main())
