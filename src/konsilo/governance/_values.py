"""Policy value kinds: how each parameter's value is read, checked and written back.

Values are exact and canonical: fractions are ``Fraction`` (never floats), durations
``timedelta`` written as ISO-8601 (``P14D``, ``PT72H``), enumerations plain strings, and
parametrised options such as ``supermajority(2/3)`` or ``seconded(2)`` a :class:`Choice`.
``parse`` accepts the written form and the parsed form alike, so a value read back from the
record compares equal to the one that was written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo.governance.apportionment import (
    Apportioned,
    Fixed,
    PerMembers,
    format_seat_policy,
    parse_seat_policy,
)
from konsilo.governance.errors import ApportionmentError, GovernanceError

__all__ = [
    "KINDS",
    "ArgSpec",
    "Choice",
    "Parameter",
    "format_duration",
    "parse_duration",
    "parse_fraction",
]

KINDS = (
    "enum",
    "bool",
    "int",
    "fraction",
    "duration",
    "text",
    "seat_policy",
    "list",
    "set",
    "map",
    "pairs",
    "choice",
    "choice_list",
)

Bound = int | Fraction | timedelta | None


def _err(name: str, message: str, code: str = "invalid") -> GovernanceError:
    return GovernanceError(message, field=name, code=code)


# -- durations ------------------------------------------------------------------------------

_DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def parse_duration(raw: object, *, name: str = "duration") -> timedelta:
    """Read an ISO-8601 duration in weeks, days, hours, minutes and seconds.

    Years and months are refused: their length varies, and a deadline must be one exact
    instant. Write ``P365D`` for a year of days.

    >>> parse_duration("PT72H"), parse_duration("P2W")
    (datetime.timedelta(days=3), datetime.timedelta(days=14))
    """
    if isinstance(raw, timedelta):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip().upper()
        match = _DURATION_RE.match(text)
        if not match or text in {"P", "PT"} or text.endswith("T"):
            hint = ""
            if re.match(r"^P(\d+Y)?(\d+M)?", text) and re.search(r"\d+[YM]", text.split("T")[0]):
                hint = "; years and months vary in length, give days instead (P365D, P30D)"
            raise _err(
                name,
                f"expected an ISO-8601 duration such as P14D or PT72H, got {raw!r}{hint}",
                "invalid_duration",
            )
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        value = timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["m"],
            seconds=parts["s"],
        )
    else:
        raise _err(
            name,
            f"expected an ISO-8601 duration such as P14D or PT72H, got {type(raw).__name__} "
            f"{raw!r}",
            "invalid_duration",
        )
    if value.microseconds:
        raise _err(name, f"expected whole seconds, got {value}", "invalid_duration")
    if value < timedelta(0):
        raise _err(name, f"expected a duration ≥ 0, got {value}", "out_of_range")
    return value


def format_duration(value: timedelta) -> str:
    """The canonical ISO-8601 text of a duration: days, then hours, minutes, seconds.

    >>> format_duration(timedelta(hours=72)), format_duration(timedelta(hours=36))
    ('P3D', 'P1DT12H')
    """
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    time = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if time:
        text += "T" + time
    return text if text != "P" else "PT0S"


# -- fractions ------------------------------------------------------------------------------


def parse_fraction(raw: object, *, name: str = "fraction") -> Fraction:
    """Read an exact fraction from ``"2/3"``, ``"0.4"``, ``"40%"``, an int or a Fraction.

    A float is read by its shortest decimal form (``0.4`` as 2/5, what the person typed);
    NaN and infinities are refused. Booleans are refused.

    >>> parse_fraction("2/3"), parse_fraction("0.4"), parse_fraction("40%"), parse_fraction(0.2)
    (Fraction(2, 3), Fraction(2, 5), Fraction(2, 5), Fraction(1, 5))
    """
    if isinstance(raw, bool):
        raise _err(name, f"expected a fraction such as 2/3 or 0.4, got {raw!r}", "not_fraction")
    if isinstance(raw, Fraction | int):
        return Fraction(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _err(name, f"expected a finite fraction, got {raw!r}", "not_fraction")
        return Fraction(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise _err(name, f"expected a finite fraction, got {raw!r}", "not_fraction")
        return Fraction(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if text.endswith("%"):
                return Fraction(Decimal(text[:-1].strip())) / 100
            return Fraction(text)
        except (ValueError, ZeroDivisionError, InvalidOperation):
            pass
    raise _err(name, f"expected a fraction such as 2/3, 0.4 or 40%, got {raw!r}", "not_fraction")


def _parse_int(raw: object, *, name: str) -> int:
    if isinstance(raw, bool):
        raise _err(name, f"expected a whole number, got {raw!r}", "not_integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    raise _err(name, f"expected a whole number, got {raw!r}", "not_integer")


def _fmt_bound(value: Bound) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def _check_range(
    value: int | Fraction | timedelta,
    *,
    name: str,
    minimum: Bound,
    maximum: Bound,
    min_open: bool,
    max_open: bool,
) -> None:
    low_ok = minimum is None or (value > minimum if min_open else value >= minimum)  # type: ignore[operator]
    high_ok = maximum is None or (value < maximum if max_open else value <= maximum)  # type: ignore[operator]
    if low_ok and high_ok:
        return
    low = "" if minimum is None else ("(" if min_open else "[") + _fmt_bound(minimum)
    high = "" if maximum is None else _fmt_bound(maximum) + (")" if max_open else "]")
    if minimum is not None and maximum is not None:
        expected = f"a value in {low}, {high}"
    elif minimum is not None:
        expected = f"a value {'>' if min_open else '≥'} {_fmt_bound(minimum)}"
    else:
        expected = f"a value {'<' if max_open else '≤'} {_fmt_bound(maximum)}"
    raise _err(name, f"expected {expected}, got {_fmt_bound(value)}", "out_of_range")


# -- parametrised choices -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One argument of a parametrised option, e.g. the ``p`` of ``supermajority(p)``."""

    name: str
    kind: str  # "int" | "fraction" | "duration" | "enum" | "name"
    minimum: Bound = None
    maximum: Bound = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[str, ...] = ()


def _format_arg(value: object) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Choice:
    """A policy option with arguments, such as ``supermajority(2/3)`` or ``off``.

    ``str(choice)`` is its canonical text, which :func:`konsilo.governance.policy.parse_value`
    reads back to an equal ``Choice``.

    >>> str(Choice("second_call", (Fraction(1, 3), timedelta(days=1))))
    'second_call(1/3, P1D)'
    """

    name: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}({', '.join(_format_arg(a) for a in self.args)})"

    def to_canonical(self) -> str:
        return str(self)


_CALL_RE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def _parse_arg(spec: ArgSpec, raw: object, *, name: str) -> Any:
    """Parse one argument; errors keep the parameter as field and name the argument."""
    try:
        return _parse_arg_value(spec, raw, where=spec.name)
    except GovernanceError as err:
        raise _err(name, f"{err.field}: {err.message}", err.code) from None


def _parse_arg_value(spec: ArgSpec, raw: object, *, where: str) -> Any:
    value: Any
    if spec.kind == "int":
        value = _parse_int(raw, name=where)
    elif spec.kind == "fraction":
        value = parse_fraction(raw, name=where)
    elif spec.kind == "duration":
        value = parse_duration(raw, name=where)
    elif spec.kind == "enum":
        if raw not in spec.choices:
            raise _err(
                where, f"expected one of {', '.join(spec.choices)}, got {raw!r}", "invalid_choice"
            )
        return str(raw)
    else:  # a free name, e.g. a category
        if not isinstance(raw, str) or not re.fullmatch(r"[\w\- ]+", raw.strip()):
            raise _err(where, f"expected a name, got {raw!r}", "invalid_name")
        return raw.strip()
    _check_range(
        value,
        name=where,
        minimum=spec.minimum,
        maximum=spec.maximum,
        min_open=spec.min_open,
        max_open=spec.max_open,
    )
    return value


def _forms_text(forms: Mapping[str, tuple[ArgSpec, ...]]) -> str:
    return " | ".join(
        f"{form}({', '.join(a.name for a in args)})" if args else form
        for form, args in forms.items()
    )


def parse_choice(raw: object, forms: Mapping[str, tuple[ArgSpec, ...]], *, name: str) -> Choice:
    """Read ``name(arg, ...)`` text (or a Choice) against the allowed forms."""
    if isinstance(raw, Choice):
        raw = str(raw)
    if not isinstance(raw, str):
        raise _err(name, f"expected {_forms_text(forms)}, got {raw!r}", "invalid_choice")
    match = _CALL_RE.match(raw)
    if not match or match.group(1) not in forms:
        raise _err(name, f"expected {_forms_text(forms)}, got {raw!r}", "invalid_choice")
    form, inner = match.group(1), match.group(2)
    specs = forms[form]
    parts = [p.strip() for p in inner.split(",")] if inner is not None and inner.strip() else []
    if len(parts) != len(specs):
        wanted = f"{form}({', '.join(a.name for a in specs)})" if specs else form
        raise _err(name, f"expected {wanted}, got {raw!r}", "invalid_choice")
    return Choice(
        form, tuple(_parse_arg(s, p, name=name) for s, p in zip(specs, parts, strict=True))
    )


# -- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parameter:
    """One configurable policy parameter (domain-rules §2).

    ``name`` is ``"section.key"``. ``kind`` is one of :data:`KINDS`. ``choices`` lists the
    allowed words of an enum, list or set; ``forms`` the options of a choice kind with their
    arguments. ``default`` is the platform default; ``default_above_base`` (when set)
    replaces it for councils above the base level, e.g. ``bound_proportional`` mandates at
    level ≥ 2 (§2.3). ``default_if`` holds defaults that depend on another resolved
    parameter: ``(other_name, other_value_or_choice_name, default)``. ``minimum`` and
    ``maximum`` bound numbers and durations (open when ``min_open``/``max_open``);
    ``item_kind`` and the bounds apply to each value of a map. ``nullable`` allows
    ``None`` ("none"). ``fixed`` parameters cannot be changed from their default.
    """

    name: str
    section: str
    kind: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: Bound = None
    maximum: Bound = None
    min_open: bool = False
    max_open: bool = False
    nullable: bool = False
    forms: Mapping[str, tuple[ArgSpec, ...]] = field(default_factory=dict)
    item_kind: str = ""
    default_above_base: Any = None
    default_if: tuple[tuple[str, str, Any], ...] = ()
    fixed: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "forms", MappingProxyType(dict(self.forms)))
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    @property
    def key(self) -> str:
        """The name within its section, e.g. ``"fraction"`` for ``"quorum.fraction"``."""
        return self.name.split(".", 1)[1]

    def parse(self, raw: object) -> Any:
        """Read and check one value of this parameter; raise GovernanceError naming it."""
        value = self._parse(raw)
        if self.fixed and value != self.default:
            raise _err(
                self.name,
                f"this parameter cannot be changed: expected {self.dump(self.default)!r}, got "
                f"{self.dump(value)!r}",
                "not_overridable",
            )
        return value

    def _parse(self, raw: object) -> Any:
        name = self.name
        if raw is None or (isinstance(raw, str) and raw.strip().lower() == "none"):
            if self.nullable:
                return None
            raise _err(name, f"expected {self.expected()}, got {raw!r}", "required")
        kind = self.kind
        if kind == "enum":
            if not isinstance(raw, str) or raw not in self.choices:
                raise _err(
                    name,
                    f"expected one of {', '.join(self.choices)}, got {raw!r}",
                    "invalid_choice",
                )
            return str(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
                return raw.strip().lower() == "true"
            raise _err(name, f"expected true or false, got {raw!r}", "not_boolean")
        if kind in {"int", "fraction", "duration"}:
            value: int | Fraction | timedelta
            if kind == "int":
                value = _parse_int(raw, name=name)
            elif kind == "fraction":
                value = parse_fraction(raw, name=name)
            else:
                value = parse_duration(raw, name=name)
            self._range(value, name)
            return value
        if kind == "text":
            if not isinstance(raw, str) or not raw.strip():
                raise _err(name, f"expected {self.expected()}, got {raw!r}")
            text = raw.strip()
            if self.choices and not re.fullmatch(self.choices[0], text):
                raise _err(name, f"expected {self.expected()}, got {raw!r}")
            return text
        if kind == "seat_policy":
            if isinstance(raw, Fixed | PerMembers | Apportioned):
                return raw
            if not isinstance(raw, str):
                raise _err(name, f"expected {self.expected()}, got {raw!r}", "invalid_seat_policy")
            try:
                return parse_seat_policy(raw)
            except ApportionmentError as err:
                raise _err(name, err.message, err.code) from None
        if kind in {"list", "set"}:
            return self._parse_names(raw)
        if kind == "map":
            return self._parse_map(raw)
        if kind == "pairs":
            return self._parse_pairs(raw)
        if kind == "choice":
            return parse_choice(raw, self.forms, name=name)
        # choice_list: one option or an ordered list of fallbacks
        items = [raw] if isinstance(raw, str | Choice) else raw
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise _err(name, f"expected a list of {_forms_text(self.forms)}, got {raw!r}")
        return tuple(parse_choice(item, self.forms, name=name) for item in items)

    def _range(self, value: int | Fraction | timedelta, name: str) -> None:
        _check_range(
            value,
            name=name,
            minimum=self.minimum,
            maximum=self.maximum,
            min_open=self.min_open,
            max_open=self.max_open,
        )

    def _parse_names(self, raw: object) -> tuple[str, ...]:
        name = self.name
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise _err(name, f"expected a list of names, got {raw!r}", "not_list")
        items = list(raw)
        out: list[str] = []
        for item in items:
            if not isinstance(item, str) or not item.strip():
                raise _err(name, f"expected names, got {item!r} in the list", "invalid_name")
            if self.choices and item not in self.choices:
                raise _err(
                    name,
                    f"expected each entry to be one of {', '.join(self.choices)}, got {item!r}",
                    "invalid_choice",
                )
            if item in out:
                if self.kind == "list":
                    raise _err(name, f"expected distinct entries, got {item!r} twice", "duplicate")
                continue
            out.append(item)
        if self.minimum is not None and isinstance(self.minimum, int) and len(out) < self.minimum:
            raise _err(
                name, f"expected at least {self.minimum} entries, got {len(out)}", "out_of_range"
            )
        return tuple(out) if self.kind == "list" else tuple(sorted(out))

    def _parse_map(self, raw: object) -> Mapping[str, Any]:
        name = self.name
        if not isinstance(raw, Mapping):
            raise _err(name, f"expected a map of name to value, got {raw!r}", "not_map")
        out: dict[str, Any] = {}
        for key in sorted(raw, key=str):
            if not isinstance(key, str) or not key.strip():
                raise _err(name, f"expected names as keys, got {key!r}", "invalid_name")
            item: int | Fraction
            try:
                if self.item_kind == "int":
                    item = _parse_int(raw[key], name=key)
                else:
                    item = parse_fraction(raw[key], name=key)
                _check_range(
                    item,
                    name=key,
                    minimum=self.minimum,
                    maximum=self.maximum,
                    min_open=self.min_open,
                    max_open=self.max_open,
                )
            except GovernanceError as err:
                raise _err(name, f"{key}: {err.message}", err.code) from None
            out[key] = item
        return MappingProxyType(out)

    def _parse_pairs(self, raw: object) -> tuple[tuple[str, str], ...]:
        name = self.name
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise _err(name, f"expected a list of [role, role] pairs, got {raw!r}", "not_list")
        out: set[tuple[str, str]] = set()
        for pair in raw:
            if (
                isinstance(pair, str)
                or not isinstance(pair, Sequence)
                or len(pair) != 2
                or not all(isinstance(p, str) and p.strip() for p in pair)
            ):
                raise _err(name, f"expected a [role, role] pair, got {pair!r}", "invalid_pair")
            a, b = sorted(p.strip() for p in pair)
            if a == b:
                raise _err(name, f"expected two different roles, got {pair!r}", "invalid_pair")
            out.add((a, b))
        return tuple(sorted(out))

    def expected(self) -> str:
        """A short phrase saying what values this parameter takes."""
        kind = self.kind
        text: str
        if kind == "enum":
            text = "one of " + ", ".join(self.choices)
        elif kind == "bool":
            text = "true or false"
        elif kind == "int":
            text = "a whole number"
        elif kind == "fraction":
            text = "a fraction such as 2/3 or 0.4"
        elif kind == "duration":
            text = "an ISO-8601 duration such as P14D or PT72H"
        elif kind == "text":
            text = "a name"
        elif kind == "seat_policy":
            text = "fixed(n), per_members(k[, min=m]) or apportioned(total[, method][, min=m])"
        elif kind in {"list", "set"}:
            text = "a list of " + (", ".join(self.choices) if self.choices else "names")
        elif kind == "map":
            text = "a map of name to " + ("whole number" if self.item_kind == "int" else "fraction")
        elif kind == "pairs":
            text = "a list of [role, role] pairs"
        elif kind == "choice":
            text = _forms_text(self.forms)
        else:
            text = "a list of " + _forms_text(self.forms)
        return text + (" or none" if self.nullable else "")

    def to_canonical(self) -> dict[str, Any]:
        """The parameter's description as plain data (for a policy editor or the docs)."""
        return {
            "name": self.name,
            "section": self.section,
            "kind": self.kind,
            "expected": self.expected(),
            "choices": list(self.choices) if self.kind != "text" else [],
            "forms": {form: [a.name for a in args] for form, args in sorted(self.forms.items())},
            "default": self.dump(self.default),
            "default_above_base": self.dump(self.default_above_base),
            "minimum": None if self.minimum is None else _fmt_bound(self.minimum),
            "maximum": None if self.maximum is None else _fmt_bound(self.maximum),
            "min_open": self.min_open,
            "max_open": self.max_open,
            "nullable": self.nullable,
            "fixed": self.fixed,
            "description": self.description,
            "source": self.source,
        }

    def dump(self, value: Any) -> Any:
        """The JSON-able form of a parsed value: no floats, canonical text for the rest."""
        if value is None:
            return None
        kind = self.kind
        if kind in {"enum", "bool", "int", "text"}:
            return value
        if kind == "fraction":
            return str(Fraction(value))
        if kind == "duration":
            return format_duration(value)
        if kind == "seat_policy":
            return format_seat_policy(value)
        if kind in {"list", "set"}:
            return list(value)
        if kind == "map":
            return {
                k: (v if self.item_kind == "int" else str(Fraction(v)))
                for k, v in sorted(value.items())
            }
        if kind == "pairs":
            return [list(p) for p in value]
        if kind == "choice":
            return str(value)
        return [str(c) for c in value]
