"""The fast RECORD path (landing_tap_kit.records) emits exactly what the SDK's own path emits (issue 14 §1).

The kit's helper runs the tap's real command twice on the same emulator (fixed seed, nothing changed in
between), once with ``LANDING_TAP_KIT_RECORD_PATH=sdk``, and both outputs are compared message by message.
The BATCH path of export_data has its own contract (tests/test_batch_files.py).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from landing_tap_adaptive.tap import TapAdaptive
from landing_tap_kit.testing import catalog_selecting, compare_record_paths

from tests.conftest import TAP, tap_config

STREAMS = ["export_accounts", "export_users", "export_versions", "export_data", "export_sheets", "export_time"]
#: Read marks and export marks are wall-clock times of each run: equal up to the second they were taken.
CLOCK = re.compile(r'"(last_successful_read_at|exported_at)": "[^"]+"')


def _without_clocks(messages: list[dict[str, Any]]) -> list[Any]:
    return [CLOCK.sub(r'"\1": "<time>"', json.dumps(m)) if m["type"] == "STATE" else m for m in messages]


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TAP_ADAPTIVE_")}


def test_full_selection_emits_what_the_sdk_path_emits(adaptive, tmp_path):
    config = tap_config(adaptive)
    catalog = catalog_selecting(TapAdaptive(config=config).catalog_dict, STREAMS)
    assert TapAdaptive(config=config, catalog=catalog).streams["export_accounts"].takes_fast_record_path
    compared = compare_record_paths([TAP], tmp_path, config, catalog, _environment())
    assert _without_clocks(compared.fast) == _without_clocks(compared.sdk)
    for stream in STREAMS:
        assert compared.records(stream), stream
    assert [m for m in compared.fast if m["type"] == "ACTIVATE_VERSION"], "full-table streams announce versions"


def test_partial_selection_emits_what_the_sdk_path_emits(adaptive, tmp_path):
    config = tap_config(adaptive)
    left_out = {"export_users": ["email", "login"], "export_accounts": ["description", "attributes"]}
    catalog = catalog_selecting(TapAdaptive(config=config).catalog_dict, STREAMS, deselect=left_out)
    assert not TapAdaptive(config=config, catalog=catalog).streams["export_users"].takes_fast_record_path
    compared = compare_record_paths([TAP], tmp_path, config, catalog, _environment())
    assert _without_clocks(compared.fast) == _without_clocks(compared.sdk)
    for stream, fields in left_out.items():
        records = compared.records(stream)
        assert records, stream
        assert all(not set(fields) & record.keys() for record in records), stream
