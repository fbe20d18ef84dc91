"""One source of truth for each tap's settings: its config schema.

The committed Meltano Hub definitions (taps/<tap>/hub/*.yml) are generated from the schema by
scripts/hub_definition.py, and the project's own plugin definitions (taps/*/*.meltano.yml) are written by
hand; these tests fail as soon as either says something about a setting (its name, kind or secrecy) that
the tap's schema does not.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: Settings of mapper-pii's launcher (docs/privacy.md): every extractor in this project runs through it, so
#: meltano.yml declares them beside the tap's own; the published tap (and its Hub definition) has none.
LAUNCHER_SETTINGS = {"hash_key": ("string", True), "hash_fields": ("object", False)}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_definition", ROOT / "scripts" / "hub_definition.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


hub = _load_generator()
PACKAGES = {package.plugin: package for package in hub.TAPS}


def meltano_plugin(plugin: str) -> dict[str, Any]:
    """The project's own definition of an extractor (inherited plugins carry no settings of their own)."""
    for path in sorted((ROOT / "taps").glob("*/*.meltano.yml")):
        for extractor in yaml.safe_load(path.read_text()).get("plugins", {}).get("extractors", []):
            if extractor["name"] == plugin:
                return dict(extractor)
    raise AssertionError(f"{plugin} is defined in no taps/*/*.meltano.yml")


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_committed_hub_definition_is_what_the_schema_generates(plugin: str) -> None:
    package = PACKAGES[plugin]
    committed = hub.path_of(package)
    assert committed.exists(), f"missing {committed}: run python scripts/hub_definition.py"
    assert committed.read_text() == hub.render(package), f"{committed} is stale: run python scripts/hub_definition.py"


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_hub_definition_names_every_schema_setting_with_its_kind_and_secrecy(plugin: str) -> None:
    package = PACKAGES[plugin]
    definition = yaml.safe_load(hub.path_of(package).read_text())
    settings = {entry["name"]: entry for entry in definition["settings"]}
    for name, prop in hub.own_settings(package).items():
        assert name in settings, f"{plugin}: schema setting {name} missing from the Hub definition"
        assert settings[name]["kind"] == hub.setting_kind(prop)
        assert settings[name].get("sensitive", False) == hub.is_sensitive(prop), f"{plugin}.{name}: secrecy"
    secrets = {name for name, prop in hub.own_settings(package).items() if hub.is_sensitive(prop)}
    assert secrets, f"{plugin}: a tap with credentials marks at least one setting secret"
    assert definition["pip_url"] == definition["executable"] == package.distribution


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_meltano_yml_declares_exactly_the_schema_settings(plugin: str) -> None:
    declared = {entry["name"] for entry in meltano_plugin(plugin)["settings"]}
    expected = set(hub.own_settings(PACKAGES[plugin])) | set(LAUNCHER_SETTINGS)
    assert sorted(declared - expected) == [], f"{plugin}: meltano.yml declares settings the tap does not have"
    assert sorted(expected - declared) == [], f"{plugin}: meltano.yml lacks settings the tap has"


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_meltano_yml_kinds_and_secrecy_follow_the_schema(plugin: str) -> None:
    schema = hub.own_settings(PACKAGES[plugin])
    for entry in meltano_plugin(plugin)["settings"]:
        name = entry["name"]
        kind = entry.get("kind", "string")  # Meltano's default kind
        sensitive = bool(entry.get("sensitive", False))
        if name in LAUNCHER_SETTINGS:
            assert (kind, sensitive) == LAUNCHER_SETTINGS[name], f"{plugin}.{name}"
            continue
        assert kind == hub.setting_kind(schema[name]), f"{plugin}.{name}: meltano.yml kind {kind}"
        assert sensitive == hub.is_sensitive(schema[name]), f"{plugin}.{name}: meltano.yml sensitive={sensitive}"


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_meltano_yml_groups_and_capabilities_agree_with_the_hub(plugin: str) -> None:
    project = meltano_plugin(plugin)
    definition = yaml.safe_load(hub.path_of(PACKAGES[plugin]).read_text())
    if "settings_group_validation" in project:
        assert project["settings_group_validation"] == definition["settings_group_validation"]
    assert set(project["capabilities"]) <= set(definition["capabilities"]), f"{plugin}: capability the tap lacks"


def test_fractional_settings_are_strings_never_decimal() -> None:
    """Meltano 4.4 crashes on ``kind: decimal`` with a value from the environment: numbers are text."""
    for package in hub.TAPS:
        definition = yaml.safe_load(hub.path_of(package).read_text())
        assert "decimal" not in {entry["kind"] for entry in definition["settings"]}, package.plugin
        numbers = [name for name, prop in hub.own_settings(package).items() if "number" in hub.json_types(prop)]
        for name in numbers:
            assert hub.setting_kind(hub.own_settings(package)[name]) == "string", f"{package.plugin}.{name}"


def test_a_schema_change_makes_the_committed_definition_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The freshness check is not vacuous: a new setting in the schema changes what is generated."""
    package = PACKAGES["tap-zengrc"]
    before = hub.render(package)
    cls = hub.tap_class(package)
    schema = {**cls.config_jsonschema, "properties": {**cls.config_jsonschema["properties"], "x": {"type": "number"}}}
    monkeypatch.setattr(cls, "config_jsonschema", schema)
    after = hub.render(package)
    assert after != before
    assert "- name: x\n  kind: string\n" in after
