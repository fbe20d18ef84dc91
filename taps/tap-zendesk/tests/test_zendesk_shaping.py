"""RecordShaper on its own: the remembered clean shapes never hide a drifted or unknown field."""

from __future__ import annotations

import logging

from landing_tap_zendesk import schemas
from landing_tap_zendesk.shaping import RecordShaper


def _membership(**values: object) -> dict[str, object]:
    row: dict[str, object] = {"id": 4, "user_id": 29, "group_id": 12, "default": True}
    row.update(values)
    return row


def test_a_value_of_another_type_is_repaired_after_the_same_keys_came_clean():
    shaper = RecordShaper("group_memberships", schemas.GROUP_MEMBERSHIPS, logging.getLogger("test"))
    assert shaper.shape(_membership()) == _membership()
    assert shaper.shape(_membership()) == _membership()  # served from the remembered shape
    assert shaper.shape(_membership(group_id="12"))["group_id"] == 12
    drifted = shaper.shape(_membership(user_id=[29]))
    assert drifted["user_id"] is None
    assert drifted["extra_fields"] == {"user_id": [29]}
    assert shaper.shape(_membership(user_id=None)) == _membership(user_id=None)


def test_an_unknown_key_is_kept_even_when_the_known_ones_came_clean_before():
    shaper = RecordShaper("group_memberships", schemas.GROUP_MEMBERSHIPS, logging.getLogger("test"))
    shaper.shape(_membership())
    assert shaper.shape(_membership(brand_id=7))["extra_fields"] == {"brand_id": 7}
