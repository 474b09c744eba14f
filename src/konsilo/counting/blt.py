"""Read and write BLT ballot files, the format of ERS, OpenSTV, OpaVote and Droop.

Format (Hill, Wichmann and Woodall, "Algorithm 123", Computer Journal 30(3), 1987)::

    4 2                  number of candidates, number of seats
    -2                   optional: candidates who withdrew, each preceded by a minus sign
    3 1 3 4 0            a ballot: its weight (how many voters), preferences, then 0
    4 1=3 2 0            candidates joined by "=" are ranked equally (OpenSTV, OpaVote)
    0                    the end of the ballots
    "Adam"               one name per candidate, in double quotes, in candidate order
    ...
    "Title"              the title of the election

Extensions read here: OpenSTV comments (``#`` to the end of the line), ballot IDs in
parentheses before the weight, skipped preferences written ``-``, and the OpaVote/Droop
options on their own lines before the ballots: ``[nick a b c]`` (short names that ballots
may use instead of numbers), ``[withdrawn a c]``, ``[tie c b a]`` (a predetermined
tie-breaking order: Droop.py and stv-rs exclude the first tied candidate in it) and any
other ``[name ...]`` option, which is kept in ``options``. Lines after the title in
double quotes (Wichmann's source and comment fields) are kept in ``notes``. Newlines
inside the ballot section are ordinary whitespace, as the original definition says.

Bad files raise one ``BltError`` whose message names the line and the problem.

Reading is done in bulk: when the ballot section holds only numbers (the usual case for
large files), it is parsed by numpy in one pass and checked with array operations; any
other content (nicknames, equal rankings, comments) goes through the token-by-token
reader, which is also the one that reports errors with their line numbers.

>>> e = read_blt('3 1\\n[nick a b c]\\n2 a b 0\\n1 c a=b 0\\n0\\n"Ana"\\n"Bea"\\n"Cy"\\n"Chair"\\n')
>>> e.seats, e.profile.candidates, e.profile.title, int(e.profile.num_ballots)
(1, ('Ana', 'Bea', 'Cy'), 'Chair', 3)
>>> read_blt(write_blt(e.profile, e.seats)).profile.to_canonical() == e.profile.to_canonical()
True
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from konsilo.counting.profile import ProfileError, RankedProfile, Ranking

__all__ = ["BltElection", "BltError", "read_blt", "write_blt"]

_INT64_MAX = (1 << 63) - 1
_OPTION = re.compile(r"^\[([A-Za-z_][\w-]*)((?:\s+[^\s\]]+)*)\s*\]$")
_NICK = re.compile(r"^[^\s=\[\]\"#()0-9-][^\s=\[\]\"#]*$")


class BltError(ValueError):
    """A BLT file is malformed; the message names the line and the problem."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class BltElection:
    """What a BLT file holds: the ballots (with names, withdrawals, title) and the seats.

    ``tie_order`` is the ``[tie ...]`` order by candidate name when the file gives one
    (empty otherwise; Droop.py and stv-rs then use the candidate order); ``nicknames``
    the ``[nick ...]`` short names, in candidate order; ``options`` every other
    ``[name ...]`` line; ``notes`` the quoted lines after the title. The profile holds
    each group of equally ranked candidates in candidate order; ``equal_order`` maps each
    such ranking to the order the file first wrote it in (some counting programs'
    arithmetic depends on it, see ``konsilo.counting.meek``).
    """

    profile: RankedProfile
    seats: int
    tie_order: tuple[str, ...] = ()
    nicknames: tuple[str, ...] = ()
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    equal_order: Mapping[Ranking, Ranking] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "equal_order", MappingProxyType(dict(self.equal_order)))


# -- reading --------------------------------------------------------------------------------


def _uncomment(line: str) -> str:
    """The line without an OpenSTV comment (``#`` outside double quotes, to the end)."""
    if "#" not in line:
        return line
    if '"' not in line:
        return line[: line.index("#")]
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def _whole(token: str, line: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", token):
        raise BltError(line, f"{what}: expected a whole number, got {token!r}")
    return int(token)


class _Reader:
    """The token-by-token reader: handles every extension and reports line numbers."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.num_candidates = 0
        self.seats = 0
        self.nicknames: tuple[str, ...] = ()
        self.withdrawn: set[int] = set()
        self.tie_order: tuple[int, ...] = ()
        self.options: dict[str, tuple[str, ...]] = {}
        self.by_nick: dict[str, int] = {}
        self.equal_order: dict[Ranking, Ranking] = {}

    # The header and the option lines before the ballots.

    def preamble(self) -> int:
        """Read the header, options and withdrawn lines; return the first ballot line index."""
        lines = self.lines
        i = 0
        while i < len(lines) and not _uncomment(lines[i]).strip():
            i += 1
        if i == len(lines):
            raise BltError(1, "the file is empty: expected the header 'candidates seats'")
        header = _uncomment(lines[i]).split()
        if len(header) != 2 or not all(t.isdigit() for t in header):
            raise BltError(
                i + 1,
                "expected the header 'candidates seats' (two whole numbers), "
                f"got {lines[i].strip()!r}",
            )
        self.num_candidates, self.seats = int(header[0]), int(header[1])
        if self.num_candidates < 1:
            raise BltError(i + 1, "the header must announce at least one candidate")
        if self.seats < 1:
            raise BltError(i + 1, "the header must announce at least one seat")
        i += 1
        while i < len(lines):
            text = _uncomment(lines[i]).strip()
            if not text:
                i += 1
            elif text.startswith("["):
                self.option(text, i + 1)
                i += 1
            elif text.startswith("-") and all(re.fullmatch(r"-[0-9]+", t) for t in text.split()):
                for token in text.split():
                    self.withdrawn.add(self.number(token[1:], i + 1))
                i += 1
            else:
                break
        if self.tie_order and len(set(self.tie_order)) != len(self.tie_order):
            raise BltError(i, "[tie ...] names a candidate twice")
        return i

    def option(self, text: str, line: int) -> None:
        match = _OPTION.match(text)
        if match is None:
            raise BltError(line, f"expected an option '[name value ...]', got {text!r}")
        name, values = match.group(1), tuple(match.group(2).split())
        if name == "nick":
            if len(values) != self.num_candidates:
                raise BltError(
                    line,
                    f"[nick ...] gives {len(values)} nicknames for "
                    f"{self.num_candidates} candidates",
                )
            for nick in values:
                if not _NICK.match(nick):
                    raise BltError(line, f"[nick ...]: {nick!r} cannot be a nickname")
            if len(set(values)) != len(values):
                raise BltError(line, "[nick ...] gives the same nickname twice")
            self.nicknames = values
            self.by_nick = {nick: k for k, nick in enumerate(values)}
        elif name == "withdrawn":
            self.withdrawn.update(self.candidate(v, line) for v in values)
        elif name == "tie":
            self.tie_order = tuple(self.candidate(v, line) for v in values)
        else:
            self.options[name] = values

    def number(self, token: str, line: int) -> int:
        value = int(token)
        if not 1 <= value <= self.num_candidates:
            raise BltError(
                line,
                f"unknown candidate number {value} (candidates are 1 to {self.num_candidates})",
            )
        return value - 1

    def candidate(self, token: str, line: int) -> int:
        if token in self.by_nick:
            return self.by_nick[token]
        if token.isdigit():
            return self.number(token, line)
        raise BltError(line, f"unknown candidate {token!r}")

    # The ballots, as a stream of tokens with their line numbers.

    def tokens(self, start: int) -> Iterator[tuple[str, int, bool]]:
        """Each token with its line number and whether it ends its line."""
        for i in range(start, len(self.lines)):
            parts = _uncomment(self.lines[i]).split()
            for k, token in enumerate(parts):
                yield token, i + 1, k == len(parts) - 1

    def ballots(self, start: int) -> tuple[dict[Ranking, int], int, int]:
        """Read ballots up to the terminating 0: the grouped rankings, the empty weight and
        the index of the line holding the terminator."""
        grouped: dict[Ranking, int] = {}
        empty = 0
        stream = self.tokens(start)
        last_line = start
        for token, line, last in stream:
            last_line = line
            if token.startswith("("):  # an OpenSTV ballot ID
                closed = token.endswith(")")
                while not closed:
                    nxt = next(stream, None)
                    if nxt is None:
                        raise BltError(line, "a ballot ID in parentheses is never closed")
                    closed = nxt[0].endswith(")")
                continue
            if token.startswith('"'):
                raise BltError(line, "expected the line '0' that ends the ballots before the names")
            weight = _whole(token, line, "ballot weight")
            if weight == 0:
                if not last:
                    raise BltError(line, "text after the 0 that ends the ballots")
                return grouped, empty, line - 1
            if weight < 0:
                raise BltError(line, f"ballot weight {weight} is negative")
            ranking, written = self.ranking(stream, line)
            if written != ranking:
                self.equal_order.setdefault(ranking, written)
            if ranking:
                grouped[ranking] = grouped.get(ranking, 0) + weight
            else:
                empty += weight
        raise BltError(
            last_line, "the ballots never end: expected a line '0' after the last ballot"
        )

    def ranking(
        self, stream: Iterator[tuple[str, int, bool]], start_line: int
    ) -> tuple[Ranking, Ranking]:
        """The ballot's ranking (groups in candidate order) and the order it was written."""
        seen: set[int] = set()
        groups: list[tuple[int, ...]] = []
        for word, line, _ in stream:
            if word == "0":
                return tuple(tuple(sorted(g)) for g in groups), tuple(groups)
            if word == "-":  # a skipped preference
                continue
            if word.startswith('"'):
                raise BltError(line, "the ballot does not end with 0")
            group: list[int] = []
            for part in word.split("="):
                if not part:
                    raise BltError(line, f"empty candidate in the equal ranking {word!r}")
                if part not in self.by_nick and not part.isdigit():
                    if re.fullmatch(r"[+-]?[0-9.]+", part):
                        raise BltError(line, f"expected a candidate number, got {part!r}")
                    raise BltError(line, f"unknown candidate {part!r}")
                k = self.candidate(part, line)
                if k in seen:
                    raise BltError(line, f"duplicate preference: candidate {part} ranked twice")
                seen.add(k)
                group.append(k)
            groups.append(tuple(group))
        raise BltError(start_line, "the ballot does not end with 0, and the file ends")

    # The names and title after the ballots.

    def trailer(self, tail: list[str], base: int) -> tuple[list[str], str, tuple[str, ...]]:
        """Read the names and title from ``tail``, the lines from index ``base`` on."""
        quoted: list[tuple[str, int]] = []
        for i, raw in enumerate(tail, start=base):
            text = _uncomment(raw).strip()
            if not text:
                continue
            if len(text) < 2 or not text.startswith('"') or not text.endswith('"'):
                what = "a candidate name" if len(quoted) < self.num_candidates else "the title"
                raise BltError(i + 1, f"expected {what} in double quotes, got {text!r}")
            inner = text[1:-1]
            if '"' in inner:
                raise BltError(i + 1, f"a name in double quotes contains a quote: {text!r}")
            quoted.append((inner, i + 1))
        if len(quoted) < self.num_candidates:
            last = max((i + 1 for i, x in enumerate(tail, start=base) if x.strip()), default=base)
            raise BltError(
                last,
                f"expected {self.num_candidates} candidate names after the ballots, "
                f"found {len(quoted)}",
            )
        names = [q for q, _ in quoted[: self.num_candidates]]
        seen: dict[str, int] = {}
        for name, line in quoted[: self.num_candidates]:
            if name in seen:
                raise BltError(line, f"candidate name {name!r} appears twice")
            seen[name] = line
        title = quoted[self.num_candidates][0] if len(quoted) > self.num_candidates else ""
        notes = tuple(q for q, _ in quoted[self.num_candidates + 1 :])
        return names, title, notes


def _fast_numeric(
    text: str, offset: int, num_candidates: int
) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.int64], int, int, int] | None:
    """Parse a ballot section of plain numbers in bulk, or return None to use the reader.

    The section starts at ``offset`` and ends at the first line that is exactly ``0``.
    Returns the preference matrix (0-based, -1 padded), the weights, the empty weight, the
    number of lines of the section and the offset just after the terminator line. Any
    irregularity returns None: the token reader then reads the file again and reports the
    problem with its line number.
    """
    if text.startswith("0", offset) and text[offset + 1 : offset + 2] in ("", "\n"):
        empty_matrix = np.zeros((0, 1), np.int64)
        return empty_matrix, np.zeros(0, np.int64), 0, 0, offset + 2
    end = text.find("\n0\n", offset)
    if end < 0:
        if not text.endswith("\n0"):
            return None
        end = len(text) - 2
    section = text[offset:end]
    try:
        raw = section.encode("ascii")
    except UnicodeEncodeError:
        return None
    if raw.translate(None, b"0123456789 \t\n"):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a text parse warns on input it cannot read to the end
        values = np.fromstring(section, dtype=np.int64, sep=" ")
    if values.size == 0 or values[-1] != 0 or int(values.max()) == _INT64_MAX:
        return None
    span = section.count("\n") + 1
    parsed = _uniform(values) or _ragged(values)
    if parsed is None:
        return None
    matrix, weights, lengths = parsed
    if int(matrix.max(initial=-1)) >= num_candidates or int(weights.sum(dtype=object)) > (
        _INT64_MAX // 2
    ):
        return None
    nonempty = lengths > 0
    if nonempty.all():
        return matrix, weights, 0, span, end + 3
    empty = int(weights[~nonempty].sum())
    return matrix[nonempty], weights[nonempty], empty, span, end + 3


_Parsed = tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _uniform(values: npt.NDArray[np.int64]) -> _Parsed | None:
    """Every ballot ranks the same number of candidates: one reshape."""
    head = np.flatnonzero(values[:4096] == 0)
    stride = int(head[0]) + 1 if head.size else int(np.argmax(values == 0)) + 1
    if stride < 2 or values.size % stride:
        return None
    table = values.reshape(-1, stride)
    if table[:, -1].any() or int(table[:, :-1].min()) <= 0:
        return None
    lengths = np.full(table.shape[0], stride - 2, dtype=np.int64)
    if stride == 2:
        return np.full((table.shape[0], 1), -1, np.int64), table[:, 0], lengths
    prefs = table[:, 1:-1]
    matrix: npt.NDArray[np.signedinteger[Any]] = (
        prefs.astype(np.int16) if int(prefs.max()) < (1 << 15) else prefs.copy()
    )
    matrix -= 1
    return matrix, np.ascontiguousarray(table[:, 0]), lengths


def _ragged(values: npt.NDArray[np.int64]) -> _Parsed | None:
    ends = np.flatnonzero(values == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if (values[starts] == 0).any():
        return None  # a 0 where a weight should be: the token reader says what is wrong
    lengths = ends - starts - 1
    weights = values[starts]
    keep = np.ones(values.size, dtype=bool)
    keep[starts] = False
    keep[ends] = False
    width = int(lengths.max(initial=0))
    rows = len(starts)
    matrix = np.full((rows, max(width, 1)), -1, dtype=np.int64)
    row_of = np.repeat(np.arange(rows), lengths)
    col = np.arange(row_of.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    matrix[row_of, col] = values[keep] - 1
    return matrix, weights, lengths


def _profile_from_matrix(
    names: Sequence[str],
    matrix: npt.NDArray[np.signedinteger[Any]],
    weights: npt.NDArray[np.int64],
    *,
    withdrawn: Sequence[str],
    title: str,
    empty: int,
) -> RankedProfile:
    profile = RankedProfile.from_indices(names, matrix, weights, withdrawn=withdrawn, title=title)
    return profile._with_empty(Fraction(empty)) if empty else profile


_HEAD = 512  # lines read before the ballots are looked at in bulk


def read_blt(text: str) -> BltElection:
    """Parse the text of a BLT file; raise ``BltError`` naming the line of the first problem.

    Withdrawn candidates stay in the profile (rules skip them) and in the ballots as the
    file has them. A ballot that ranks nobody counts in ``profile.empty``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text.split("\n", _HEAD)
    reader = _Reader(head)
    start = reader.preamble()
    profile: RankedProfile | None = None
    if start < len(head) - 1 or len(head) <= _HEAD:
        offset = sum(len(line) + 1 for line in head[:start])
        # The profile's array constructor checks for candidates ranked twice itself.
        fast = _fast_numeric(text, offset, reader.num_candidates)
        if fast is not None:
            matrix, weights, empty, span, after = fast
            names, title, notes = reader.trailer(text[after:].split("\n"), start + span + 1)
            withdrawn = [names[k] for k in sorted(reader.withdrawn)]
            try:
                profile = _profile_from_matrix(
                    names, matrix, weights, withdrawn=withdrawn, title=title, empty=empty
                )
            except ProfileError:
                profile = None  # the token reader below finds the line and says what is wrong
    if profile is None:
        reader.lines = lines = text.split("\n")
        grouped, empty_weight, end = reader.ballots(start)
        names, title, notes = reader.trailer(lines[end + 1 :], end + 1)
        withdrawn = [names[k] for k in sorted(reader.withdrawn)]
        try:
            profile = RankedProfile.from_grouped(
                names, grouped, withdrawn=withdrawn, empty=empty_weight, title=title
            )
        except ProfileError as exc:
            raise BltError(end + 2, str(exc)) from None
    return BltElection(
        profile=profile,
        seats=reader.seats,
        tie_order=tuple(names[k] for k in reader.tie_order),
        nicknames=reader.nicknames,
        options=reader.options,
        notes=notes,
        equal_order=reader.equal_order,
    )


# -- writing --------------------------------------------------------------------------------


def _quoted(text: str, what: str) -> str:
    if '"' in text or "\n" in text or "\r" in text:
        raise BltError(0, f"{what} {text!r} cannot be written in BLT (quote or line break)")
    return f'"{text}"'


def write_blt(
    profile: RankedProfile,
    seats: int,
    *,
    tie_order: Sequence[str] = (),
    nicknames: Sequence[str] | None = None,
    options: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The BLT text of a profile: ``read_blt(write_blt(p, s))`` gives back the same profile.

    Ballots use candidate numbers, or ``nicknames`` when given (then withdrawals are
    written as ``[withdrawn ...]``, otherwise as the classic ``-k`` line). Weights must be
    whole numbers. Raises ``BltError`` (line 0) for what BLT cannot hold.
    """
    n = len(profile.candidates)
    if seats < 1:
        raise BltError(0, f"seats: expected at least 1, got {seats}")
    names_of: list[str]
    out: list[str] = [f"{n} {seats}"]
    if nicknames is not None:
        nicks = list(nicknames)
        if len(nicks) != n or len(set(nicks)) != n or not all(_NICK.match(x) for x in nicks):
            raise BltError(0, "nicknames: expected one distinct short name per candidate")
        names_of = nicks
        out.append("[nick " + " ".join(nicks) + "]")
        if profile.withdrawn:
            names = [nicks[profile.index(c)] for c in profile.candidates if c in profile.withdrawn]
            out.append("[withdrawn " + " ".join(names) + "]")
    else:
        names_of = [str(k + 1) for k in range(n)]
        if profile.withdrawn:
            out.append(
                " ".join(
                    f"-{k + 1}" for k, c in enumerate(profile.candidates) if c in profile.withdrawn
                )
            )
    if tie_order:
        out.append("[tie " + " ".join(names_of[profile.index(c)] for c in tie_order) + "]")
    for name, values in (options or {}).items():
        out.append("[" + " ".join([name, *values]) + "]")
    for ranking, weight in zip(profile.rankings, profile.weights, strict=True):
        if weight.denominator != 1:
            raise BltError(0, f"weights: BLT needs whole-number weights, got {weight}")
        prefs = " ".join("=".join(names_of[k] for k in group) for group in ranking)
        out.append(f"{weight.numerator} {prefs} 0")
    if profile.empty:
        if profile.empty.denominator != 1:
            raise BltError(0, f"weights: BLT needs whole-number weights, got {profile.empty}")
        out.append(f"{profile.empty.numerator} 0")
    out.append("0")
    out.extend(_quoted(c, "candidate name") for c in profile.candidates)
    out.append(_quoted(profile.title, "title"))
    out.extend(_quoted(note, "note") for note in notes)
    return "\n".join(out) + "\n"
