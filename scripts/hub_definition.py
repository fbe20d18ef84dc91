"""Meltano Hub plugin definitions of the four taps, generated from each tap's own config schema.

The tap's ``config_jsonschema`` is the one source of truth for its settings: names, labels (``title``),
descriptions, defaults and which are secret. This script turns it into the definition Meltano Hub accepts
(``taps/<tap>/hub/<plugin>.yml``, committed); ``tests/test_hub_definitions.py`` fails when that file, the
schema and the project's own ``taps/*/*.meltano.yml`` settings drift apart.

    python scripts/hub_definition.py            # rewrite every committed definition
    python scripts/hub_definition.py --check    # exit 1 naming each stale definition

Kinds follow Meltano's rules, with one deliberate exception: a fractional setting (JSON ``number``) is
``kind: string``, never ``decimal``, because Meltano 4.4 crashes ("Object of type Decimal is not JSON
serializable") once a decimal setting gets a value from the environment; every tap accepts numeric strings.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Where the forge hosts the project (also in every tap's [project.urls]).
REPOSITORY = "https://github.com/landing-pipelines/landing-pipelines"
VARIANT = "landing-pipelines"

#: Capabilities the Hub's schema knows; the SDK also reports ``structured-logging``, which the Hub does not.
HUB_CAPABILITIES = (
    "catalog",
    "properties",
    "discover",
    "state",
    "about",
    "stream-maps",
    "schema-flattening",
    "batch",
    "activate-version",
    "test",
    "log-based",
)


@dataclass(frozen=True)
class TapPackage:
    """One published tap: where it lives, how it installs, and which settings together make a usable config."""

    plugin: str  # Meltano plugin name (unchanged by the distribution rename)
    folder: str  # taps/<folder>
    distribution: str  # PyPI name, also the console script
    tap_class: str  # module:Class
    label: str
    domain_url: str
    #: Alternative complete sets of settings (Meltano's settings_group_validation): the schema's ``required``
    #: says only what every config needs; which endpoint/credential settings replace each other is the tap's
    #: rule, written once here and checked against the schema and meltano.yml by the tests.
    groups: tuple[tuple[str, ...], ...]


TAPS: tuple[TapPackage, ...] = (
    TapPackage(
        "tap-zengrc",
        "tap-zengrc",
        "landing-tap-zengrc",
        "landing_tap_zengrc.tap:TapZenGRC",
        "ZenGRC",
        "https://www.zengrc.com/",
        (("tenant", "username", "password"), ("api_url", "username", "password"), ("base_url", "username", "password")),
    ),
    TapPackage(
        "tap-xactly",
        "tap-xactly",
        "landing-tap-xactly",
        "landing_tap_xactly.tap:TapXactly",
        "Xactly Incent",
        "https://www.xactlycorp.com/",
        (("driver_jar", "username", "password", "client_id", "consumer"),),
    ),
    TapPackage(
        "tap-adaptive",
        "tap-adaptive",
        "landing-tap-adaptive",
        "landing_tap_adaptive.tap:TapAdaptive",
        "Workday Adaptive Planning",
        "https://www.workday.com/en-us/products/adaptive-planning/overview.html",
        (("username", "password"),),
    ),
    TapPackage(
        "tap-zendesk",
        "tap-zendesk",
        "landing-tap-zendesk",
        "landing_tap_zendesk.tap:TapZendesk",
        "Zendesk Support",
        "https://www.zendesk.com/service/",
        (
            ("subdomain", "email", "api_token", "start_date"),
            ("subdomain", "access_token", "start_date"),
            ("api_url", "email", "api_token", "start_date"),
            ("api_url", "access_token", "start_date"),
        ),
    ),
)


def tap_class(package: TapPackage) -> Any:
    """Import the Tap class (the installed package, as a Hub user would get it)."""
    module_name, _, class_name = package.tap_class.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def json_types(prop: Any) -> list[str]:
    """Every non-null JSON type a property admits, through ``anyOf``/``oneOf`` branches."""
    if isinstance(prop, str):
        return [] if prop == "null" else [prop]
    declared = prop.get("type", [])
    found = [declared] if isinstance(declared, str) else list(declared)
    for branch in prop.get("anyOf", []) + prop.get("oneOf", []):
        found += json_types(branch)
    return [t for t in found if t != "null"]


def setting_kind(prop: dict[str, Any]) -> str:
    """Meltano kind of one JSON-schema property; ``number`` becomes ``string`` (see the module docstring)."""
    types = json_types(prop)
    if "boolean" in types:
        return "boolean"
    if "integer" in types:
        return "integer"
    if "object" in types:
        return "object"
    if "array" in types and "string" not in types:
        return "array"
    if "number" in types:
        return "string"
    if prop.get("format") == "date-time":
        return "date_iso8601"
    return "string"


def is_sensitive(prop: dict[str, Any]) -> bool:
    """The SDK marks credentials ``secret``/``writeOnly`` (``th.Property(..., secret=True)``)."""
    return bool(prop.get("secret") or prop.get("writeOnly"))


def _default(prop: dict[str, Any], kind: str) -> Any:
    value = prop["default"]
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a fractional setting is text (see the module docstring)
    return value


def setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One Hub setting from one schema property."""
    kind = setting_kind(prop)
    entry: dict[str, Any] = {"name": name, "kind": kind, "label": prop.get("title") or name}
    if prop.get("description"):
        entry["description"] = " ".join(str(prop["description"]).split())
    if is_sensitive(prop):
        entry["sensitive"] = True
    if "default" in prop and prop["default"] is not None:
        entry["value"] = _default(prop, kind)
    return entry


def own_settings(package: TapPackage) -> dict[str, dict[str, Any]]:
    """The tap's own settings (not the SDK's built-in ones), by name, as schema properties."""
    properties: dict[str, dict[str, Any]] = tap_class(package).config_jsonschema["properties"]
    return properties


def definition(package: TapPackage) -> dict[str, Any]:
    """The Hub plugin definition of one tap."""
    cls = tap_class(package)
    schema: dict[str, Any] = {"type": "object", "properties": dict(cls.config_jsonschema["properties"])}
    cls.append_builtin_config(schema)  # stream maps, flattening, batch: settings a Hub user configures too
    required = set(cls.config_jsonschema.get("required", []))
    for group in package.groups:
        missing = required - set(group)
        unknown = set(group) - schema["properties"].keys()
        if missing or unknown:
            msg = f"{package.plugin}: settings group {list(group)} lacks {sorted(missing)} / names {sorted(unknown)}"
            raise ValueError(msg)
    # First sentence of the Tap docstring (what --about shows under the title); the Hub renders Markdown, not RST.
    about = " ".join((cls.__doc__ or "").split()).split(". ")[0].rstrip(".").replace("``", "`")
    capabilities = [str(c) for c in cls.capabilities]
    return {
        "name": package.plugin,
        "namespace": package.plugin.replace("-", "_"),
        "variant": VARIANT,
        "label": package.label,
        "description": about,
        "keywords": ["meltano_sdk"],
        "maintenance_status": "active",
        "domain_url": package.domain_url,
        "repo": REPOSITORY,
        "docs": f"{REPOSITORY}/blob/main/taps/{package.folder}/README.md",
        "pip_url": package.distribution,
        "executable": package.distribution,
        "capabilities": [c for c in HUB_CAPABILITIES if c in capabilities],
        "settings": [setting(name, prop) for name, prop in schema["properties"].items()],
        "settings_group_validation": [list(group) for group in package.groups],
    }


def path_of(package: TapPackage) -> Path:
    """Committed location of a tap's Hub definition."""
    return ROOT / "taps" / package.folder / "hub" / f"{package.plugin}.yml"


def render(package: TapPackage) -> str:
    """The YAML text committed for one tap."""
    header = (
        f"# Meltano Hub definition of {package.plugin} ({package.distribution} on PyPI).\n"
        "# Generated from the tap's config schema by scripts/hub_definition.py: edit the schema, then re-run it.\n"
    )
    body: str = yaml.safe_dump(definition(package), sort_keys=False, allow_unicode=True, width=120)
    return header + body


def main(argv: list[str] | None = None) -> int:
    """Write every definition, or with ``--check`` name the stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for package in TAPS:
        path, text = path_of(package), render(package)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale Hub definitions (run python scripts/hub_definition.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
