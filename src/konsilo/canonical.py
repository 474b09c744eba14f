"""Canonical JSON: the one byte encoding of everything konsilo records or recounts.

Sorted keys, UTF-8, no insignificant whitespace, and no floats: numbers are integers, and
exact fractions are strings such as ``"14/11"``. Two values that are equal encode to the same
bytes, so a verifier can compare encodings instead of parsing them.

>>> dumps({"b": Fraction(14, 11), "a": [1, "x"]})
b'{"a":[1,"x"],"b":"14/11"}'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

__all__ = [
    "CanonicalError",
    "dumps",
    "dumps_plain",
    "dumps_plain_str",
    "dumps_str",
    "fraction",
    "instant",
    "loads",
    "string_items",
    "to_jsonable",
]

JSONValue = None | bool | int | str | list["JSONValue"] | dict[str, "JSONValue"]


_PLAIN = frozenset({str, int, type(None)})


class CanonicalError(ValueError):
    """A value cannot be put in canonical form (a float, a non-string key, ...)."""


def fraction(value: Fraction | int) -> str:
    """Encode an exact number as a string: ``"3"``, ``"-7/2"``."""
    if type(value) is Fraction:  # already in lowest terms: no new Fraction to build
        n, d = value.numerator, value.denominator
        return str(n) if d == 1 else f"{n}/{d}"
    return str(Fraction(value))


def instant(value: str | dt.datetime) -> dt.datetime:
    """An instant back from its canonical text (``2026-12-01T09:00:00Z``, what `to_jsonable`
    makes of a datetime); a datetime is returned as it is.

    >>> instant("2026-12-01T09:00:00Z").isoformat()
    '2026-12-01T09:00:00+00:00'
    """
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def to_jsonable(value: Any, *, path: str = "$") -> JSONValue:
    """Convert a value to plain JSON data with no floats, failing loudly on anything inexact."""
    # JSON's own containers and exact fractions, by their exact type: the common case (every
    # record entry comes here), kept off the chain of checks below, which looks at
    # subclasses and abstract base classes.
    kind = type(value)
    if kind is dict:
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise CanonicalError(f"{path}: keys must be strings, got {key!r}")
            # Strings, plain integers and None are already canonical, the rest recurses.
            out[key] = item if type(item) in _PLAIN else to_jsonable(item, path=f"{path}.{key}")
        return out
    if kind is list or kind is tuple:
        return [
            item if type(item) in _PLAIN else to_jsonable(item, path=f"{path}[{i}]")
            for i, item in enumerate(value)
        ]
    if kind is Fraction:
        return fraction(value)
    return _to_jsonable(value, path)


def _to_jsonable(value: Any, path: str) -> JSONValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Fraction):
        return fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalError(f"{path}: {value} is not a finite number")
        return fraction(Fraction(value))
    if isinstance(value, float):
        raise CanonicalError(f"{path}: floats are not allowed in canonical JSON, got {value!r}")
    if isinstance(value, Enum):
        return to_jsonable(value.value, path=path)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise CanonicalError(f"{path}: datetimes must carry a time zone, got {value}")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise CanonicalError(f"{path}: bytes must be encoded (hex or base64) before recording")
    as_dict = getattr(value, "to_canonical", None)
    if callable(as_dict):
        return to_jsonable(as_dict(), path=path)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"{path}: keys must be strings, got {key!r}")
            # Strings, plain integers and None are already canonical: the common case, kept
            # off the recursion (and its path string) because every record entry comes here.
            kind = type(item)
            out[key] = item if kind in _PLAIN else to_jsonable(item, path=f"{path}.{key}")
        return out
    if isinstance(value, Sequence | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [
            item if type(item) in _PLAIN else to_jsonable(item, path=f"{path}[{i}]")
            for i, item in enumerate(items)
        ]
    raise CanonicalError(f"{path}: cannot encode {type(value).__name__} in canonical JSON")


def _is_plain(value: Any) -> bool:
    """Whether the value is plain JSON data already (dicts with string keys, lists, tuples,
    strings, integers, booleans, None): what `to_jsonable` would return unchanged, found
    without building its paths."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _PLAIN or kind is bool:
            continue
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    return False
                if type(child) not in _PLAIN:
                    stack.append(child)
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def dumps_str(value: Any) -> str:
    """Encode a value as canonical JSON text."""
    return dumps_plain_str(value if _is_plain(value) else to_jsonable(value))


def dumps(value: Any) -> bytes:
    """Encode a value as canonical JSON bytes (UTF-8)."""
    return dumps_str(value).encode("utf-8")


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# One reusable C encoder with exactly `dumps`'s settings (json.dumps builds a new one per call),
# and no cycle check: the values it is given are trees of plain JSON.
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    None
    if _C_MAKE_ENCODER is None
    else _C_MAKE_ENCODER(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
)


def dumps_plain_str(value: Any) -> str:
    """Canonical JSON text of a value made of JSON's own types only, such as decoded JSON.

    Dicts with string keys, lists, strings, integers, booleans and None: such a value is
    already what `to_jsonable` would make of it, so it is encoded as it is, with no copy and
    no checks (a float would be encoded, not refused). `dumps_str` gives the same text for
    it; use that for anything else.

    >>> dumps_plain_str({"b": [1, None], "a": "é"})
    '{"a":"é","b":[1,null]}'
    """
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(value, 0))
    return _ENCODER.encode(value)  # pragma: no cover (CPython has the C encoder)


def dumps_plain(value: Any) -> bytes:
    """Canonical JSON bytes of a value made of JSON's own types only (see `dumps_plain_str`)."""
    return dumps_plain_str(value).encode("utf-8")


def string_items(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    """The items of a dict whose keys are strings and values strings or None, else None.

    Such items are an exact key for the dict (a string equals only a string of the same
    text, None only None), where numbers would not be (``True == 1``): ballots, mostly
    small dicts of strings repeated by the thousand, are told apart by them cheaply.

    >>> string_items({"choice": "yes"}), string_items({"n": 1})
    ((('choice', 'yes'),), None)
    """
    if type(value) is not dict:
        return None
    items = tuple(value.items())
    for key, item in items:
        if type(key) is not str or (type(item) is not str and item is not None):
            return None
    return items


def _no_float(text: str) -> Any:
    raise CanonicalError(f"floats are not allowed in canonical JSON, got {text}")


def loads(data: bytes | str) -> Any:
    """Decode canonical JSON, refusing floats so that nothing inexact sneaks back in."""
    return json.loads(data, parse_float=_no_float, parse_constant=_no_float)
