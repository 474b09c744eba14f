"""Read ballots from CSV: one ballot per row, under a header row that says the layout.

The file is UTF-8 text (a byte-order mark is tolerated), comma-separated, with one header
row. Two columns may appear in every layout, in any position:

* ``weight``: the ballot's weight, a positive whole number, exact fraction (``3/2``) or
  decimal (``0.5``, read exactly); 1 when the column is absent;
* ``id``: a ballot-paper reference, ignored by the count.

Ranked ballots (``read_rankings``), one of three layouts recognised from the header:

1. ranking column: a column named ``ranking`` holds ``Ana > Bea = Cem > Dan``: ``>``
   separates preferences, most preferred first, ``=`` joins candidates ranked equally;
2. preference columns: columns named ``1``, ``2``, ... (or ``rank 1``, ``choice 1``,
   ``preference 1``) hold the candidate at that preference; cells after the last preference
   are blank; ``Ana = Bea`` in one cell ranks them equally;
3. candidate columns: every other column is a candidate and holds the rank given to it
   (``1`` first); blank means unranked; candidates with the same number are ranked equally;
   only the order of the numbers matters (``1, 2, 5`` reads as ``1, 2, 3``).

In layouts 1 and 2 the candidates are the names that appear, in code-point order, unless the
caller lists them (``candidates=``, which also admits candidates nobody ranked).

Scored ballots (``read_scores``, for score, dot, approval and budget ballots) use the
candidate-column layout: each cell is the score, the number of dots, or ``1`` for an approval;
blank is the same as ``0`` (not scored, no dots, not approved).

Every problem is one ``BallotCsvError`` whose message names the line (and column) and what is
wrong. Identical rows are parsed once, so a million-ballot file with few distinct rows is read
in about the time ``csv`` takes to split it.

>>> text = "ranking,weight\\nAna > Bea,2\\nBea,1\\n"
>>> p = read_rankings(text)
>>> p.candidates, int(p.num_ballots)
(('Ana', 'Bea'), 3)
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from konsilo.counting.profile import ProfileError, RankedProfile, Ranking

__all__ = ["BallotCsvError", "ScoredBallots", "read_rankings", "read_scores"]

_PREFERENCE = re.compile(r"(?:(?:rank|choice|preference|pref)[\s_-]*)?([0-9]+)", re.IGNORECASE)
_RESERVED = ("weight", "id")


class BallotCsvError(ValueError):
    """A ballot CSV file is malformed; the message names the line and the problem."""


@dataclass(frozen=True)
class ScoredBallots:
    """Scored ballots over named options: ``ballots[i]`` maps options to exact numbers.

    ``weights[i]`` is the weight of ``ballots[i]``; identical rows are merged and their
    weights added. Options a ballot leaves blank are absent from its mapping.
    """

    candidates: tuple[str, ...]
    ballots: tuple[Mapping[str, int | Fraction], ...]
    weights: tuple[Fraction, ...]


@dataclass(frozen=True)
class _Table:
    header: list[str]
    header_line: int
    weight: int | None
    ignored: set[int]
    rows: dict[tuple[str, ...], tuple[int, Fraction]]  # cells -> (first line, total weight)


def _number(text: str, *, where: str) -> Fraction:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise BallotCsvError(f"{where}: expected a number, got {text.strip()!r}") from None
    return value


def _read_table(text: str) -> _Table:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise BallotCsvError("line 1: the file is empty; expected a header row")
        header = [c.strip() for c in header]
        header_line = reader.line_num
        lowered = [c.lower() for c in header]
        for i, name in enumerate(header):
            if not name:
                raise BallotCsvError(f"line {header_line}: column {i + 1} has no name")
            if lowered.index(name.lower()) != i:
                raise BallotCsvError(f"line {header_line}: column {name!r} appears twice")
        weight = lowered.index("weight") if "weight" in lowered else None
        ignored = {i for i, c in enumerate(lowered) if c == "id"}
        rows: dict[tuple[str, ...], tuple[int, Fraction]] = {}
        width = len(header)
        weights_seen: dict[str, Fraction] = {}
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width:
                raise BallotCsvError(
                    f"line {line}: expected {width} cells as in the header, got {len(cells)}"
                )
            w = Fraction(1)
            if weight is not None:
                raw = cells[weight].strip()
                if raw not in weights_seen:
                    value = _number(raw, where=f"line {line}, column weight")
                    if value <= 0:
                        raise BallotCsvError(
                            f"line {line}, column weight: expected a positive weight, got {raw!r}"
                        )
                    weights_seen[raw] = value
                w = weights_seen[raw]
            key = tuple(c.strip() for i, c in enumerate(cells) if i != weight and i not in ignored)
            seen = rows.get(key)
            rows[key] = (line, w) if seen is None else (seen[0], seen[1] + w)
    except csv.Error as exc:
        raise BallotCsvError(f"line {reader.line_num}: {exc}") from None
    return _Table(header, header_line, weight, ignored, rows)


def _columns(table: _Table) -> list[str]:
    """The header without the weight and id columns, in the order of the row keys."""
    return [c for i, c in enumerate(table.header) if i != table.weight and i not in table.ignored]


def _split_names(text: str, sep: str, *, where: str) -> list[str]:
    names = [n.strip() for n in text.split(sep)]
    if any(not n for n in names):
        raise BallotCsvError(f"{where}: an empty name in {text!r}")
    return names


def _ranking_cells(
    table: _Table, columns: list[str]
) -> Iterator[tuple[int, Fraction, list[list[str]]]]:
    """Rows of layouts 1 and 2 as groups of candidate names."""
    if [c.lower() for c in columns] == ["ranking"]:
        for (cell,), (line, w) in table.rows.items():
            where = f"line {line}, column ranking"
            if not cell:
                yield line, w, []
                continue
            groups = [
                _split_names(part, "=", where=where)
                for part in _split_names(cell, ">", where=where)
            ]
            yield line, w, groups
        return
    order = sorted(range(len(columns)), key=lambda i: _preference_number(columns[i]) or 0)
    for cells, (line, w) in table.rows.items():
        groups = []
        ended_at: str | None = None
        for i in order:
            cell = cells[i]
            if not cell:
                ended_at = ended_at or columns[i]
                continue
            if ended_at is not None:
                raise BallotCsvError(
                    f"line {line}, column {columns[i]}: a preference after the blank "
                    f"column {ended_at}"
                )
            groups.append(_split_names(cell, "=", where=f"line {line}, column {columns[i]}"))
        yield line, w, groups


def _preference_number(name: str) -> int | None:
    match = _PREFERENCE.fullmatch(name.strip())
    return int(match.group(1)) if match else None


def read_rankings(text: str, *, candidates: Sequence[str] | None = None) -> RankedProfile:
    """Read ranked ballots from CSV text in one of the three layouts of the module docstring.

    >>> p = read_rankings("Ana,Bea,Cem\\n1,2,\\n2,1,1\\n")
    >>> [[[p.candidates[i] for i in g] for g in r] for r in p.rankings]
    [[['Ana'], ['Bea']], [['Bea', 'Cem'], ['Ana']]]
    """
    table = _read_table(text)
    columns = _columns(table)
    if not columns:
        raise BallotCsvError(
            f"line {table.header_line}: the header has no ranking, preference or candidate column"
        )
    lowered = [c.lower() for c in columns]
    numbers = [_preference_number(c) for c in columns]
    if "ranking" in lowered and len(columns) > 1:
        others = [c for c in columns if c.lower() != "ranking"]
        raise BallotCsvError(
            f"line {table.header_line}: a file with a ranking column has no other columns "
            f"but weight and id, got {others[0]!r}"
        )
    if lowered == ["ranking"] or all(n is not None for n in numbers):
        listed = sorted(n for n in numbers if n is not None)
        if lowered != ["ranking"] and listed != list(range(1, len(columns) + 1)):
            raise BallotCsvError(
                f"line {table.header_line}: preference columns must be numbered 1 to "
                f"{len(columns)}, got {', '.join(columns)}"
            )
        rows = list(_ranking_cells(table, columns))
        if candidates is None:
            names = sorted({n for _, _, groups in rows for g in groups for n in g})
        else:
            names = list(candidates)
        known = set(names)
        grouped: dict[Ranking, Fraction] = {}
        empty = Fraction(0)
        index = {c: i for i, c in enumerate(names)}
        for line, w, groups in rows:
            seen: set[str] = set()
            key: list[tuple[int, ...]] = []
            for group in groups:
                for name in group:
                    if name not in known:
                        raise BallotCsvError(f"line {line}: unknown candidate {name!r}")
                    if name in seen:
                        raise BallotCsvError(f"line {line}: candidate {name!r} is ranked twice")
                    seen.add(name)
                key.append(tuple(sorted(index[n] for n in group)))
            if not key:
                empty += w
                continue
            ranking = tuple(key)
            grouped[ranking] = grouped.get(ranking, Fraction(0)) + w
        return _profile(names, grouped, empty)
    if candidates is not None and list(candidates) != columns:
        raise BallotCsvError(
            f"line {table.header_line}: the candidate columns differ from the candidates given"
        )
    grouped = {}
    empty = Fraction(0)
    for cells, (line, w) in table.rows.items():
        marks: dict[Fraction, list[int]] = {}
        for i, cell in enumerate(cells):
            if not cell:
                continue
            rank = _number(cell, where=f"line {line}, column {columns[i]}")
            if rank <= 0 or rank.denominator != 1:
                raise BallotCsvError(
                    f"line {line}, column {columns[i]}: expected a rank 1, 2, 3, ..., got {cell!r}"
                )
            marks.setdefault(rank, []).append(i)
        if not marks:
            empty += w
            continue
        ranking = tuple(tuple(marks[r]) for r in sorted(marks))
        grouped[ranking] = grouped.get(ranking, Fraction(0)) + w
    return _profile(columns, grouped, empty)


def _profile(
    names: Sequence[str], grouped: Mapping[Ranking, Fraction], empty: Fraction
) -> RankedProfile:
    try:
        return RankedProfile.from_grouped(names, grouped, empty=empty)
    except ProfileError as exc:
        raise BallotCsvError(f"line 1: {exc}") from None


def read_scores(text: str) -> ScoredBallots:
    """Read scored ballots (scores, dots, approvals as 1) from candidate columns.

    Numbers are whole or exact (``3/2``, ``0.5``); a blank cell leaves the option unscored.
    Negative numbers are refused here; each method checks its own scale.

    >>> s = read_scores("Park,Library\\n1,\\n1,1\\n1,\\n")
    >>> s.ballots, s.weights
    (({'Park': 1}, {'Park': 1, 'Library': 1}), (Fraction(2, 1), Fraction(1, 1)))
    """
    table = _read_table(text)
    columns = _columns(table)
    if not columns:
        raise BallotCsvError(f"line {table.header_line}: the header has no candidate column")
    if "ranking" in (c.lower() for c in columns):
        raise BallotCsvError(
            f"line {table.header_line}: scored ballots need one column per option, "
            "not a ranking column"
        )
    ballots: list[Mapping[str, int | Fraction]] = []
    weights: list[Fraction] = []
    for cells, (line, w) in table.rows.items():
        scores: dict[str, int | Fraction] = {}
        for i, cell in enumerate(cells):
            if not cell:
                continue
            value = _number(cell, where=f"line {line}, column {columns[i]}")
            if value < 0:
                raise BallotCsvError(
                    f"line {line}, column {columns[i]}: expected a number ≥ 0, got {cell!r}"
                )
            scores[columns[i]] = int(value) if value.denominator == 1 else value
        ballots.append(scores)
        weights.append(w)
    return ScoredBallots(tuple(columns), tuple(ballots), tuple(weights))
