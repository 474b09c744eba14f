"""Read PrefLib ordinal preference files (``.soc``, ``.soi``, ``.toc``, ``.toi``).

Format (PrefLib, "Data format", preflib.org/format, 2022 revision): metadata lines
``# KEY: value`` at the top of the file (``DATA TYPE``, ``NUMBER ALTERNATIVES``,
``NUMBER VOTERS``, ``NUMBER UNIQUE ORDERS`` and one ``ALTERNATIVE NAME i`` per alternative,
numbered from 1), then one line per distinct order: ``count: 1,3,{2,4}``, the number of voters,
a colon, then the alternatives most preferred first, an equal group in braces.

Each data type has a constraint, checked here: ``soc`` strict and complete, ``soi`` strict,
``toc`` complete with ties allowed, ``toi`` anything. The totals announced in the header
(voters, unique orders) must match the orders, so a truncated or edited file is refused.

The files of the earlier format (before 2022: a first line with the number of alternatives,
``i,name`` lines, a ``voters,total,unique`` line, then ``count,1,3,{2,4}`` lines) are read too.

Equal rankings: a final equal group that holds every alternative the voter did not otherwise
rank (PrefLib's ``toc`` files are "imbued" from ``soi`` this way) means the same as leaving
those alternatives unranked, for every ranked rule, so it is dropped; any other equal group is
kept, and rules that need strict rankings refuse it with a message naming it.

Every problem is one ``PreflibError`` whose message names the line and what is wrong.

>>> text = '''# DATA TYPE: soi
... # NUMBER ALTERNATIVES: 3
... # NUMBER VOTERS: 3
... # NUMBER UNIQUE ORDERS: 2
... # ALTERNATIVE NAME 1: Ana
... # ALTERNATIVE NAME 2: Bea
... # ALTERNATIVE NAME 3: Cem
... 2: 1,3
... 1: 2
... '''
>>> election = read_preflib(text)
>>> election.profile.candidates, int(election.profile.num_ballots)
(('Ana', 'Bea', 'Cem'), 3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from konsilo.counting.profile import ProfileError, RankedProfile, Ranking

__all__ = ["DATA_TYPES", "PreflibElection", "PreflibError", "read_preflib"]

DATA_TYPES = ("soc", "soi", "toc", "toi")

_HEADER = re.compile(r"#\s*([^:]+?)\s*:\s?(.*)")
_ALTERNATIVE = re.compile(r"ALTERNATIVE NAME (\d+)")
_NUMBER = re.compile(r"[0-9]+")


class PreflibError(ValueError):
    """A PrefLib file is malformed; the message names the line and the problem."""


@dataclass(frozen=True)
class PreflibElection:
    """The ballots of a PrefLib file, its data type and its header metadata (keys upper-case)."""

    profile: RankedProfile
    data_type: str
    metadata: Mapping[str, str]


def _int(text: str, *, line: int, what: str) -> int:
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        raise PreflibError(f"line {line}: {what} must be a whole number, got {stripped!r}")
    return int(stripped)


def _parse_order(text: str, *, line: int, alternatives: int) -> list[tuple[int, ...]]:
    """``1,{2,3},4`` as groups of 0-based indices; checks range and repetitions."""
    body = text.strip()
    groups: list[tuple[int, ...]] = []
    seen: set[int] = set()
    pos = 0
    while body:
        if body.startswith("{", pos):
            end = body.find("}", pos)
            if end < 0:
                raise PreflibError(f"line {line}: a '{{' group is not closed")
            inner = body[pos + 1 : end]
            if "{" in inner:
                raise PreflibError(f"line {line}: groups cannot be nested")
            items = [s.strip() for s in inner.split(",")] if inner.strip() else []
            pos = end + 1
        else:
            end = body.find(",", pos)
            end = len(body) if end < 0 else end
            item = body[pos:end]
            if "{" in item or "}" in item:
                raise PreflibError(f"line {line}: misplaced brace in {body[:60]!r}")
            items, pos = [item.strip()], end
        if items:  # '{}' is an empty group: nothing is ranked there
            groups.append(_indices(items, line=line, alternatives=alternatives, seen=seen))
        rest = body[pos:].lstrip()
        if not rest:
            break
        if not rest.startswith(","):
            raise PreflibError(f"line {line}: expected ',' between preferences in {body[:60]!r}")
        if not rest[1:].strip():
            raise PreflibError(f"line {line}: the order ends with a comma")
        pos = len(body) - len(rest) + 1
        pos += len(body[pos:]) - len(body[pos:].lstrip())
    return groups


def _indices(items: list[str], *, line: int, alternatives: int, seen: set[int]) -> tuple[int, ...]:
    out: list[int] = []
    for item in items:
        number = _int(item, line=line, what="an alternative")
        if not 1 <= number <= alternatives:
            raise PreflibError(
                f"line {line}: alternative {number} does not exist (there are {alternatives})"
            )
        if number - 1 in seen:
            raise PreflibError(f"line {line}: alternative {number} is ranked twice")
        seen.add(number - 1)
        out.append(number - 1)
    return tuple(sorted(out))


def _normalise(groups: list[tuple[int, ...]], *, alternatives: int) -> tuple[tuple[int, ...], ...]:
    """Drop a final equal group holding every alternative not ranked before it."""
    if len(groups) > 0 and len(groups[-1]) > 1:
        ranked = sum(len(g) for g in groups)
        if ranked == alternatives:
            return tuple(groups[:-1])
    return tuple(groups)


def _check_type(
    data_type: str, groups: list[tuple[int, ...]], *, line: int, alternatives: int
) -> None:
    if data_type in ("soc", "soi") and any(len(g) > 1 for g in groups):
        raise PreflibError(f"line {line}: a {data_type} file has strict orders, but a group ties")
    if data_type in ("soc", "toc"):
        ranked = sum(len(g) for g in groups)
        if ranked != alternatives:
            raise PreflibError(
                f"line {line}: a {data_type} file has complete orders, but this one ranks "
                f"{ranked} of {alternatives} alternatives"
            )


def read_preflib(text: str, *, data_type: str | None = None) -> PreflibElection:
    """Read a PrefLib ordinal file; ``data_type`` (from the file name) must agree with the header.

    Raises ``PreflibError`` naming the line for anything malformed: a missing or contradictory
    header field, an unknown alternative, a repeated one, a tie in a strict file, an incomplete
    order in a complete file, counts that do not add up to the header's totals.
    """
    if data_type is not None and data_type not in DATA_TYPES:
        raise PreflibError(f"data type: expected one of {', '.join(DATA_TYPES)}, got {data_type!r}")
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first and not first.startswith("#"):
        if ":" in first:
            raise PreflibError("line 1: expected the '# ...' metadata header before the orders")
        return _read_legacy(lines, data_type=data_type)
    metadata: dict[str, str] = {}
    header_line: dict[str, int] = {}
    names: dict[int, str] = {}
    body_start = len(lines)
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            body_start = number - 1
            break
        match = _HEADER.fullmatch(stripped)
        if match is None:
            continue  # a comment line without a key
        key, value = match.group(1).strip().upper(), match.group(2).strip()
        alternative = _ALTERNATIVE.fullmatch(key)
        if alternative:
            index = int(alternative.group(1))
            if index in names:
                raise PreflibError(f"line {number}: alternative {index} is named twice")
            if value in names.values():
                raise PreflibError(f"line {number}: two alternatives are named {value!r}")
            if not value:
                raise PreflibError(f"line {number}: alternative {index} has no name")
            names[index] = value
        metadata[key] = value
        header_line[key] = number

    # Where the header ends: missing header fields are reported there.
    end = body_start + 1 if body_start < len(lines) else max(len(lines), 1)
    declared = metadata.get("DATA TYPE", "").lower()
    if not declared:
        declared = data_type or ""
        if not declared:
            raise PreflibError(f"line {end}: the header has no '# DATA TYPE:' line")
    elif declared not in DATA_TYPES:
        raise PreflibError(
            f"line {header_line['DATA TYPE']}: DATA TYPE must be one of "
            f"{', '.join(DATA_TYPES)}, got {declared!r}"
        )
    if data_type is not None and data_type != declared:
        raise PreflibError(
            f"line {header_line['DATA TYPE']}: the file is named .{data_type} but its header "
            f"says DATA TYPE {declared}"
        )
    if "NUMBER ALTERNATIVES" not in metadata:
        raise PreflibError(f"line {end}: the header has no '# NUMBER ALTERNATIVES:' line")
    alternatives = _int(
        metadata["NUMBER ALTERNATIVES"],
        line=header_line["NUMBER ALTERNATIVES"],
        what="NUMBER ALTERNATIVES",
    )
    missing = [i for i in range(1, alternatives + 1) if i not in names]
    if missing:
        raise PreflibError(
            f"line {end}: the header names no alternative {missing[0]} "
            f"('# ALTERNATIVE NAME {missing[0]}: ...')"
        )
    extra = sorted(i for i in names if not 1 <= i <= alternatives)
    if extra:
        key = f"ALTERNATIVE NAME {extra[0]}"
        raise PreflibError(
            f"line {header_line[key]}: alternative {extra[0]} is named but "
            f"NUMBER ALTERNATIVES is {alternatives}"
        )
    candidates = [names[i] for i in range(1, alternatives + 1)]

    grouped: dict[Ranking, Fraction] = {}
    voters = 0
    orders = 0
    for number in range(body_start + 1, len(lines) + 1):
        raw = lines[number - 1].strip()
        if not raw:
            continue
        if raw.startswith("#"):
            raise PreflibError(f"line {number}: metadata lines must all come before the orders")
        count_text, sep, order_text = raw.partition(":")
        if not sep:
            raise PreflibError(f"line {number}: expected 'count: order', got {raw[:40]!r}")
        count = _int(count_text, line=number, what="the number of voters")
        groups = _parse_order(order_text, line=number, alternatives=alternatives)
        _check_type(declared, groups, line=number, alternatives=alternatives)
        key = _normalise(groups, alternatives=alternatives)
        if key in grouped:
            raise PreflibError(f"line {number}: this order already appears on an earlier line")
        grouped[key] = Fraction(count)
        voters += count
        orders += 1

    _check_total(metadata, header_line, "NUMBER VOTERS", voters, "the orders' counts add up to")
    _check_total(metadata, header_line, "NUMBER UNIQUE ORDERS", orders, "the file has")
    return _build(candidates, grouped, declared, metadata, metadata.get("TITLE", ""))


def _check_total(
    metadata: Mapping[str, str], header_line: Mapping[str, int], key: str, got: int, what: str
) -> None:
    if key not in metadata:
        return
    expected = _int(metadata[key], line=header_line[key], what=key)
    if expected != got:
        raise PreflibError(f"line {header_line[key]}: {key} is {expected}, but {what} {got}")


def _build(
    candidates: list[str],
    grouped: dict[Ranking, Fraction],
    data_type: str,
    metadata: Mapping[str, str],
    title: str,
) -> PreflibElection:
    empty = grouped.pop((), Fraction(0))
    try:
        profile = RankedProfile.from_grouped(candidates, grouped, empty=empty, title=title)
    except ProfileError as exc:
        raise PreflibError(str(exc)) from None
    return PreflibElection(profile=profile, data_type=data_type, metadata=dict(metadata))


def _read_legacy(lines: list[str], *, data_type: str | None) -> PreflibElection:
    """The pre-2022 PrefLib layout (``.soi``/``.toc`` files from the original library)."""
    cursor = 0

    def next_line() -> tuple[int, str]:
        nonlocal cursor
        while cursor < len(lines):
            cursor += 1
            if lines[cursor - 1].strip():
                return cursor, lines[cursor - 1].strip()
        raise PreflibError(f"line {cursor}: the file ends before its header is complete")

    number, text = next_line()
    alternatives = _int(text, line=number, what="the number of alternatives")
    candidates: list[str] = []
    for expected in range(1, alternatives + 1):
        number, text = next_line()
        index_text, sep, name = text.partition(",")
        if not sep or _int(index_text, line=number, what="the alternative number") != expected:
            raise PreflibError(f"line {number}: expected '{expected},name', got {text[:40]!r}")
        if not name.strip():
            raise PreflibError(f"line {number}: alternative {expected} has no name")
        if name.strip() in candidates:
            raise PreflibError(f"line {number}: two alternatives are named {name.strip()!r}")
        candidates.append(name.strip())
    number, text = next_line()
    totals = [part.strip() for part in text.split(",")]
    if len(totals) != 3:
        raise PreflibError(
            f"line {number}: expected 'voters,total count,unique orders', got {text[:40]!r}"
        )
    total_line = number
    voters_declared = _int(totals[1], line=number, what="the total count")
    orders_declared = _int(totals[2], line=number, what="the number of unique orders")
    declared = data_type or "toi"
    grouped: dict[Ranking, Fraction] = {}
    voters = 0
    orders = 0
    for number in range(cursor + 1, len(lines) + 1):
        raw = lines[number - 1].strip()
        if not raw:
            continue
        count_text, sep, order_text = raw.partition(",")
        if not sep:
            raise PreflibError(f"line {number}: expected 'count,order', got {raw[:40]!r}")
        count = _int(count_text, line=number, what="the number of voters")
        groups = _parse_order(order_text, line=number, alternatives=alternatives)
        _check_type(declared, groups, line=number, alternatives=alternatives)
        key = _normalise(groups, alternatives=alternatives)
        if key in grouped:
            raise PreflibError(f"line {number}: this order already appears on an earlier line")
        grouped[key] = Fraction(count)
        voters += count
        orders += 1
    if voters != voters_declared:
        raise PreflibError(
            f"line {total_line}: the total count is {voters_declared}, but the orders' counts "
            f"add up to {voters}"
        )
    if orders != orders_declared:
        raise PreflibError(
            f"line {total_line}: the file announces {orders_declared} unique orders, "
            f"but has {orders}"
        )
    return _build(candidates, grouped, declared, {"DATA TYPE": declared}, "")
