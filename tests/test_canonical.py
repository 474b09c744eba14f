"""Canonical JSON: plain data takes the fast path and encodes exactly as the full walk does;
anything inexact is refused wherever it sits."""

from __future__ import annotations

import datetime as dt
import enum
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(plain)
def test_plain_data_encodes_as_the_full_walk_does(value: object) -> None:
    assert canonical._is_plain(value)
    full = canonical.json.dumps(
        canonical.to_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert canonical.dumps_str(value) == full


def test_tuples_encode_as_lists() -> None:
    assert canonical.dumps_str({"b": (1, 2), "a": [True, None]}) == '{"a":[true,null],"b":[1,2]}'


class Level(enum.IntEnum):
    BASE = 1


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ({"share": Fraction(2, 5)}, '{"share":"2/5"}'),
        ([{"level": Level.BASE}], '[{"level":1}]'),
        ({"at": dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)}, '{"at":"2026-12-02T09:00:00Z"}'),
        ({"set": {"b", "a"}}, '{"set":["a","b"]}'),
    ],
)
def test_values_that_are_not_plain_still_take_the_full_walk(value: object, encoded: str) -> None:
    assert not canonical._is_plain(value)
    assert canonical.dumps_str(value) == encoded


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": [{"b": 0.5}]}, r"\$\.a\[0\]\.b"),
        ([1, [2, [3.0]]], r"\$\[1\]\[1\]\[0\]"),
        ({1: "x"}, "keys must be strings"),
    ],
)
def test_an_inexact_value_anywhere_is_refused_with_its_path(value: object, where: str) -> None:
    with pytest.raises(canonical.CanonicalError, match=where):
        canonical.dumps_str(value)
