"""Canonical JSON: the plain-JSON fast path (dumps_plain) gives the bytes of the general one."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical

_scalars = st.none() | st.booleans() | st.integers() | st.text()
_plain = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_plain)
def test_plain_json_encodes_to_the_same_bytes_as_dumps(value: Any) -> None:
    assert canonical.dumps_plain(value) == canonical.dumps(value)
    assert canonical.dumps_plain_str(value) == canonical.dumps_str(value)


@given(st.dictionaries(st.text(), st.none() | st.text(), max_size=4))
def test_dicts_of_strings_with_equal_items_have_equal_bytes(value: dict[str, Any]) -> None:
    items = canonical.string_items(value)
    assert items is not None
    assert canonical.string_items(dict(items)) == items
    assert canonical.dumps_plain(dict(items)) == canonical.dumps_plain(value)


def test_string_items_are_only_an_exact_key_for_strings_and_none() -> None:
    # True == 1 and hash(True) == hash(1), but they encode differently: no key for either.
    assert canonical.string_items({"choice": True}) is None
    assert canonical.string_items({"choice": 1}) is None
    assert canonical.string_items({"ranking": [["A"]]}) is None
    assert canonical.string_items({1: "a"}) is None
    assert canonical.string_items(["choice", "yes"]) is None
    assert canonical.string_items({"choice": None}) == (("choice", None),)
