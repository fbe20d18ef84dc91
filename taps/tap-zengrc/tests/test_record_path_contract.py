"""The fast record path (landing_tap_kit.records) emits exactly what the SDK's own path emits (issue 14 §1).

Both runs read the same emulator (fixed seed, nothing advanced in between); the kit's helper runs the tap's
real command twice, once with ``LANDING_TAP_KIT_RECORD_PATH=sdk``, and compares every message.
"""

from __future__ import annotations

from landing_tap_kit.testing import catalog_selecting, compare_record_paths
from landing_tap_zengrc.tap import TapZenGRC

from tests.support import TAP, clean_environment, tap_config


def test_full_selection_emits_what_the_sdk_path_emits(emulator, tmp_path):
    server = emulator("zengrc", seed=21, volume=12, only="requests,people,risks")
    config = tap_config(server.url, page_size=5)
    discovered = TapZenGRC(config=config).catalog_dict
    catalog = catalog_selecting(discovered, ["requests", "people", "risks"])
    assert TapZenGRC(config=config, catalog=catalog).streams["requests"].takes_fast_record_path
    compared = compare_record_paths([TAP], tmp_path, config, catalog, clean_environment())
    assert compared.fast == compared.sdk
    truth = server.emulator.truth()
    for stream in ("requests", "people", "risks"):
        assert sorted(r["id"] for r in compared.records(stream)) == [r["id"] for r in truth[stream]], stream


def test_partial_selection_emits_what_the_sdk_path_emits(emulator, tmp_path):
    server = emulator("zengrc", seed=21, volume=12, only="requests,people")
    config = tap_config(server.url, page_size=5)
    discovered = TapZenGRC(config=config).catalog_dict
    left_out = {"requests": ["custom_attributes", "mapped", "reviewers"], "people": ["email"]}
    catalog = catalog_selecting(discovered, ["requests", "people"], deselect=left_out)
    assert not TapZenGRC(config=config, catalog=catalog).streams["requests"].takes_fast_record_path
    compared = compare_record_paths([TAP], tmp_path, config, catalog, clean_environment())
    assert compared.fast == compared.sdk
    assert len(compared.records("requests")) == 12
    assert len(compared.records("people")) == 12
    for stream, fields in left_out.items():
        assert all(not set(fields) & set(record) for record in compared.records(stream)), stream
