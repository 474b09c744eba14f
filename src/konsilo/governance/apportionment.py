"""Apportionment: how many seats each lower council's delegation holds in a higher council.

Three ways to size a delegation (domain-rules §2.1 ``delegation_seats``):

* ``fixed(n)``: every lower council sends ``n`` delegates;
* ``per_members(k)``: one seat per full ``k`` represented members, at least ``min`` seats
  (the 1918 RSFSR Constitution: urban soviets 1 delegate per 25,000 voters, provincial
  congresses 1 per 125,000 inhabitants; Rojava 2014: one seat per 15,000 votes);
* ``apportioned(total, method)``: a fixed number of seats shared in proportion to the
  represented members by a highest-averages or largest-remainder method.

All arithmetic is exact (integers and ``Fraction``); ties for the last seats are settled by a
seeded, recorded lot (:class:`konsilo.counting.tiebreak.Lot`).

>>> result = apportion(8, {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000},
...                    method=ApportionmentMethod.DHONDT)
>>> dict(result.seats)
{'A': 4, 'B': 3, 'C': 1, 'D': 0}
>>> format_seat_policy(parse_seat_policy("apportioned( 50 , dhondt,min=2 )"))
'apportioned(50, dhondt, min=2)'
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo.counting.result import Draw
from konsilo.counting.tiebreak import Lot
from konsilo.governance.errors import ApportionmentError

__all__ = [
    "Apportioned",
    "Apportionment",
    "ApportionmentMethod",
    "Fixed",
    "PerMembers",
    "SeatPolicy",
    "apportion",
    "delegation_seats",
    "format_seat_policy",
    "parse_seat_policy",
]


class ApportionmentMethod(StrEnum):
    """A rule for sharing a fixed number of seats in proportion to populations.

    * ``SAINTE_LAGUE``: highest averages with divisors 1, 3, 5, ... (Webster). The least
      biased between large and small bases, hence konsilo's default (domain-rules §2.1).
    * ``DHONDT``: highest averages with divisors 1, 2, 3, ... (Jefferson); favours large bases.
    * ``LARGEST_REMAINDER_HARE``: every party gets the whole part of its Hare quota
      ``population × seats / total population``; the seats left go to the largest remainders
      (Hamilton). Not house-monotone: the Alabama paradox can occur.
    """

    SAINTE_LAGUE = "sainte_lague"
    DHONDT = "dhondt"
    LARGEST_REMAINDER_HARE = "largest_remainder_hare"


def _check_int(value: object, *, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApportionmentError(
            f"expected a whole number ≥ {minimum}, got {value!r}", field=name, code="not_integer"
        )
    if value < minimum:
        raise ApportionmentError(
            f"expected a whole number ≥ {minimum}, got {value}", field=name, code="out_of_range"
        )
    return value


@dataclass(frozen=True, slots=True)
class Fixed:
    """``fixed(n)``: every lower council sends ``seats`` delegates (at least 1)."""

    seats: int

    def __post_init__(self) -> None:
        _check_int(self.seats, name="fixed.seats", minimum=1)


@dataclass(frozen=True, slots=True)
class PerMembers:
    """``per_members(k, min=m)``: one seat per full ``k`` represented members, at least ``m``.

    The count is rounded down, ``max(min_seats, represented // members_per_seat)``: the
    literal reading of "1 delegate per 25,000 voters" (a second delegate needs a second full
    25,000), with ``min_seats`` (default 1) keeping small bases from vanishing.
    """

    members_per_seat: int
    min_seats: int = 1

    def __post_init__(self) -> None:
        _check_int(self.members_per_seat, name="per_members.members_per_seat", minimum=1)
        _check_int(self.min_seats, name="per_members.min", minimum=0)


@dataclass(frozen=True, slots=True)
class Apportioned:
    """``apportioned(total, method, min=m)``: ``total`` seats shared by ``method``."""

    total: int
    method: ApportionmentMethod = ApportionmentMethod.SAINTE_LAGUE
    min_seats: int = 1

    def __post_init__(self) -> None:
        _check_int(self.total, name="apportioned.total", minimum=1)
        _check_int(self.min_seats, name="apportioned.min", minimum=0)
        object.__setattr__(self, "method", _method(self.method, name="apportioned.method"))


SeatPolicy = Fixed | PerMembers | Apportioned


def _method(value: object, *, name: str = "method") -> ApportionmentMethod:
    try:
        return ApportionmentMethod(value if isinstance(value, str) else repr(value))
    except ValueError:
        choices = ", ".join(m.value for m in ApportionmentMethod)
        raise ApportionmentError(
            f"expected one of {choices}, got {value!r}", field=name, code="invalid_choice"
        ) from None


_POLICY_RE = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.DOTALL)
_FORMS = "fixed(n), per_members(k[, min=m]) or apportioned(total[, method][, min=m])"


def parse_seat_policy(text: str) -> SeatPolicy:
    """Read a seat policy from its text form.

    Accepted: ``fixed(2)``, ``per_members(25)``, ``per_members(25, min=1)``,
    ``apportioned(50)``, ``apportioned(50, sainte_lague)``, ``apportioned(50, dhondt, min=2)``.
    ``min`` defaults to 1 and the method to ``sainte_lague``. Anything else raises
    :class:`ApportionmentError` saying which form was expected.

    >>> parse_seat_policy("per_members(25000)")
    PerMembers(members_per_seat=25000, min_seats=1)
    """
    if not isinstance(text, str):
        raise ApportionmentError(
            f"expected text such as {_FORMS}, got {type(text).__name__}",
            field="delegation_seats",
            code="invalid_seat_policy",
        )
    match = _POLICY_RE.match(text)
    if not match:
        raise ApportionmentError(
            f"expected {_FORMS}, got {text!r}",
            field="delegation_seats",
            code="invalid_seat_policy",
        )
    name, inner = match.group(1), match.group(2)
    parts = [p.strip() for p in inner.split(",")] if inner.strip() else []
    positional: list[str] = []
    keywords: dict[str, str] = {}
    for part in parts:
        if "=" in part:
            key, _, value = part.partition("=")
            key = key.strip()
            if key != "min" or key in keywords:
                raise ApportionmentError(
                    f"expected at most one keyword argument 'min=m' in {text!r}, got {part!r}",
                    field="delegation_seats",
                    code="invalid_seat_policy",
                )
            keywords[key] = value.strip()
        elif keywords:
            raise ApportionmentError(
                f"expected 'min=m' last in {text!r}, got {part!r} after it",
                field="delegation_seats",
                code="invalid_seat_policy",
            )
        else:
            positional.append(part)

    def whole(raw: str, what: str) -> int:
        if not re.fullmatch(r"\d+", raw):
            raise ApportionmentError(
                f"expected a whole number for {what} in {text!r}, got {raw!r}",
                field="delegation_seats",
                code="invalid_seat_policy",
            )
        return int(raw)

    def arity(allowed: tuple[int, ...], form: str) -> None:
        if len(positional) not in allowed:
            raise ApportionmentError(
                f"expected {form}, got {text!r}",
                field="delegation_seats",
                code="invalid_seat_policy",
            )

    min_seats = whole(keywords["min"], "min") if "min" in keywords else 1
    if name == "fixed":
        arity((1,), "fixed(n)")
        if keywords:
            raise ApportionmentError(
                f"expected fixed(n) without min, got {text!r}",
                field="delegation_seats",
                code="invalid_seat_policy",
            )
        return _rewrap(lambda: Fixed(whole(positional[0], "n")))
    if name == "per_members":
        arity((1,), "per_members(k[, min=m])")
        return _rewrap(lambda: PerMembers(whole(positional[0], "k"), min_seats))
    if name == "apportioned":
        arity((1, 2), "apportioned(total[, method][, min=m])")
        method = (
            _method(positional[1], name="delegation_seats")
            if len(positional) == 2
            else ApportionmentMethod.SAINTE_LAGUE
        )
        return _rewrap(lambda: Apportioned(whole(positional[0], "total"), method, min_seats))
    raise ApportionmentError(
        f"expected {_FORMS}, got {text!r} (unknown form {name!r})",
        field="delegation_seats",
        code="invalid_seat_policy",
    )


def _rewrap(make: Any) -> SeatPolicy:
    """Build a policy, reporting range errors against the ``delegation_seats`` parameter."""
    try:
        policy: SeatPolicy = make()
    except ApportionmentError as err:
        if err.field == "delegation_seats":
            raise
        raise ApportionmentError(
            f"{err.field}: {err.message}", field="delegation_seats", code=err.code
        ) from None
    return policy


def format_seat_policy(policy: SeatPolicy) -> str:
    """The canonical text of a seat policy; ``parse_seat_policy`` reads it back unchanged.

    >>> format_seat_policy(PerMembers(25, min_seats=0))
    'per_members(25, min=0)'
    """
    if isinstance(policy, Fixed):
        return f"fixed({policy.seats})"
    if isinstance(policy, PerMembers):
        tail = "" if policy.min_seats == 1 else f", min={policy.min_seats}"
        return f"per_members({policy.members_per_seat}{tail})"
    if isinstance(policy, Apportioned):
        tail = "" if policy.min_seats == 1 else f", min={policy.min_seats}"
        return f"apportioned({policy.total}, {policy.method.value}{tail})"
    raise ApportionmentError(
        f"expected Fixed, PerMembers or Apportioned, got {type(policy).__name__}",
        field="delegation_seats",
        code="invalid_seat_policy",
    )


@dataclass(frozen=True, slots=True)
class Apportionment:
    """Seats per party (lower council), the method, the lots drawn and a readable account."""

    seats: Mapping[str, int]
    method: str
    draws: tuple[Draw, ...]
    explanation: str
    min_seats: int = 0
    seed: str | None = None
    populations: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seats", MappingProxyType(dict(sorted(self.seats.items()))))
        object.__setattr__(
            self, "populations", MappingProxyType(dict(sorted(self.populations.items())))
        )

    @property
    def total(self) -> int:
        """The number of seats given out."""
        return sum(self.seats.values())

    def to_canonical(self) -> dict[str, Any]:
        return {
            "seats": dict(self.seats),
            "method": self.method,
            "draws": [d.to_canonical() for d in self.draws],
            "explanation": self.explanation,
            "min_seats": self.min_seats,
            "seed": self.seed,
            "populations": dict(self.populations),
        }


def _check_populations(populations: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(populations, Mapping):
        raise ApportionmentError(
            f"expected a mapping of council to member count, got {type(populations).__name__}",
            field="populations",
        )
    checked: dict[str, int] = {}
    for key in sorted(populations, key=str):
        if not isinstance(key, str):
            raise ApportionmentError(
                f"expected council keys as text, got {key!r}", field="populations"
            )
        checked[key] = _check_int(populations[key], name=f"populations.{key}", minimum=0)
    return checked


class _Tiebreak:
    """The seeded lot of one apportionment and the draws it made, in order."""

    def __init__(self, seed: str | None) -> None:
        self.seed = seed
        self.lot = Lot(seed)
        self.draws: list[Draw] = []

    def choose(self, tied: list[str], seats_left: int, reason: str) -> list[str]:
        """Choose ``seats_left`` of the ``tied`` parties (fewer than tied), by recorded lots."""
        if self.seed is None:
            raise ApportionmentError(
                f"{', '.join(sorted(tied))} tie exactly for the last {seats_left} seat(s); "
                "expected a seed to draw lots, got none",
                field="seed",
                code="lot_required",
            )
        pool = sorted(tied)
        chosen: list[str] = []
        for _ in range(seats_left):
            draw = self.lot.draw(pool, reason=reason)
            self.draws.append(draw)
            chosen.append(draw.chosen)
            pool.remove(draw.chosen)
        return chosen


def _divisor(
    total: int,
    pops: dict[str, int],
    seats: dict[str, int],
    method: ApportionmentMethod,
    tiebreak: _Tiebreak,
) -> None:
    """Give out the seats left one by one to the highest quotient population / d(seats held).

    d(s) = s + 1 for D'Hondt, 2s + 1 for Sainte-Laguë; seats already held (the minimums)
    count, so a party's minimum is absorbed by its proportional share when that is larger.
    A set of tied parties that fits in the seats left gets one seat each (the sequential
    order among them would not matter); a tie larger than the seats left is drawn by lot.
    """

    def quotient(key: str) -> Fraction:
        held = seats[key]
        return Fraction(
            pops[key], held + 1 if method is ApportionmentMethod.DHONDT else 2 * held + 1
        )

    # A max-heap of (quotient, key); the key order only makes the heap deterministic, ties
    # are collected whole below and never settled by key.
    heap = [(-quotient(k), k) for k in sorted(pops)]
    heapq.heapify(heap)
    left = total - sum(seats.values())
    while left > 0:
        top, first = heapq.heappop(heap)
        tied = [first]
        while heap and heap[0][0] == top:
            tied.append(heapq.heappop(heap)[1])
        best = -top
        if len(tied) > left:
            tied = tiebreak.choose(
                tied,
                left,
                f"{len(tied)} parties tie at quotient {best} for the last {left} seat(s)",
            )
        for k in tied:
            seats[k] += 1
            heapq.heappush(heap, (-quotient(k), k))
        left -= len(tied)


def _hare(
    total: int,
    pops: dict[str, int],
    seats: dict[str, int],
    min_seats: int,
    tiebreak: _Tiebreak,
) -> list[str]:
    """Largest remainder with the Hare quota, minimums first; returns the parties held at min.

    A party whose Hare entitlement (population × seats / population) is below the minimum
    is held at the minimum, and the rest share the remaining seats by Hare again; this
    repeats until no further party falls below the minimum. The parties still free then get
    at least the minimum too, since the whole part of an entitlement ≥ m is ≥ m.
    """
    held: set[str] = set()
    while True:
        free = [k for k in sorted(pops) if k not in held]
        seats_free = total - min_seats * len(held)
        pop_free = sum(pops[k] for k in free)
        if not free:
            break
        if pop_free == 0:
            below = set(free)
        else:
            below = {k for k in free if Fraction(pops[k] * seats_free, pop_free) < min_seats}
        if not below:
            break
        held |= below
    for k in held:
        seats[k] = min_seats
    free = [k for k in sorted(pops) if k not in held]
    seats_free = total - min_seats * len(held)
    if not free or seats_free == 0:
        return sorted(held)
    pop_free = sum(pops[k] for k in free)
    entitlement = {k: Fraction(pops[k] * seats_free, pop_free) for k in free}
    for k in free:
        seats[k] = int(entitlement[k])  # floor: entitlements are never negative
    left = seats_free - sum(seats[k] for k in free)
    remainders = {k: entitlement[k] - seats[k] for k in free}
    ordered = sorted(free, key=lambda k: (-remainders[k], k))
    i = 0
    while left > 0:
        best = remainders[ordered[i]]
        j = i
        while j < len(ordered) and remainders[ordered[j]] == best:
            j += 1
        tied = ordered[i:j]
        if len(tied) > left:
            tied = tiebreak.choose(
                tied,
                left,
                f"{len(tied)} parties tie at remainder {best} for the last {left} seat(s)",
            )
        for k in tied:
            seats[k] += 1
        left -= len(tied)
        i = j
    return sorted(held)


_METHOD_WORDS = {
    ApportionmentMethod.SAINTE_LAGUE: "Sainte-Laguë (divisors 1, 3, 5, …)",
    ApportionmentMethod.DHONDT: "D'Hondt (divisors 1, 2, 3, …)",
    ApportionmentMethod.LARGEST_REMAINDER_HARE: "largest remainder with the Hare quota",
}


def apportion(
    total: int,
    populations: Mapping[str, int],
    *,
    method: ApportionmentMethod | str,
    min_seats: int = 0,
    seed: str | None = None,
) -> Apportionment:
    """Share ``total`` seats among parties in proportion to their populations, exactly.

    Rule: every party first receives ``min_seats``. Then
    * highest-averages methods continue the divisor sequence from the seats each party
      already holds: each remaining seat goes to the highest ``population / d(seats)``, with
      ``d(s) = s + 1`` (D'Hondt) or ``2s + 1`` (Sainte-Laguë). This is the usual divisor
      method with a floor: for one common divisor D each party ends with
      ``max(min_seats, ⌊p / D⌋)`` (D'Hondt) or ``max(min_seats, p / D rounded to the
      nearest whole number)`` (Sainte-Laguë): a party whose share already exceeds the
      minimum keeps its share, and the seats the minimums take come out of the others';
    * largest remainder holds every party whose Hare entitlement is below the minimum at
      the minimum, and shares the rest among the others by Hare (see ``_hare``).
    Ties: tied parties all get a seat when enough seats are left; an exact tie for the last
    seats is drawn by :class:`~konsilo.counting.tiebreak.Lot` from ``seed`` and recorded in
    ``draws``. Without a seed such a tie raises :class:`ApportionmentError` (``lot_required``).
    Refused: ``total < 0``, negative or non-integer populations, ``min_seats × parties >
    total``, seats to give with no population to share them by. Sources: D'Hondt (1878),
    Sainte-Laguë (1910), Hamilton (1792); Balinski & Young, *Fair Representation* (1982).

    >>> dict(apportion(8, {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000},
    ...                method="sainte_lague").seats)
    {'A': 3, 'B': 3, 'C': 1, 'D': 1}
    """
    total = _check_int(total, name="total", minimum=0)
    min_seats = _check_int(min_seats, name="min_seats", minimum=0)
    chosen = _method(method)
    pops = _check_populations(populations)
    if min_seats * len(pops) > total:
        raise ApportionmentError(
            f"{len(pops)} parties × min_seats {min_seats} = {min_seats * len(pops)} seats, "
            f"but only {total} to give; expected total ≥ parties × min_seats",
            field="min_seats",
            code="infeasible",
        )
    if total > min_seats * len(pops) and sum(pops.values()) == 0:
        raise ApportionmentError(
            f"{total - min_seats * len(pops)} seats to share in proportion to populations, but "
            f"{'there are no parties' if not pops else 'every population is 0'}; "
            "expected at least one party with members",
            field="populations",
            code="infeasible",
        )
    seats = dict.fromkeys(pops, min_seats)
    tiebreak = _Tiebreak(seed)
    held: list[str] = []
    if chosen is ApportionmentMethod.LARGEST_REMAINDER_HARE:
        held = _hare(total, pops, seats, min_seats, tiebreak)
    else:
        _divisor(total, pops, seats, chosen, tiebreak)
    draws = tiebreak.draws
    explanation = _explain(
        total, pops, seats, method=chosen, min_seats=min_seats, held=held, draws=draws
    )
    return Apportionment(
        seats=seats,
        method=chosen.value,
        draws=tuple(draws),
        explanation=explanation,
        min_seats=min_seats,
        seed=seed,
        populations=pops,
    )


def _explain(
    total: int,
    pops: dict[str, int],
    seats: dict[str, int],
    *,
    method: ApportionmentMethod,
    min_seats: int,
    held: list[str],
    draws: list[Draw],
) -> str:
    parts = [f"{total} seats shared by {_METHOD_WORDS[method]} among {len(pops)} parties"]
    if min_seats:
        parts.append(f"each party guaranteed {min_seats} seat(s) first")
    if held:
        parts.append(f"held at the minimum: {', '.join(held)}")
    text = "; ".join(parts) + ": "
    text += ", ".join(f"{k} {seats[k]} ({pops[k]})" for k in sorted(seats)) + "."
    for d in draws:
        text += f" Lot drawn among {', '.join(d.among)}: {d.chosen} ({d.reason})."
    return text


def delegation_seats(
    policy: SeatPolicy,
    represented: Mapping[str, int],
    *,
    seed: str | None = None,
) -> Apportionment:
    """Seats of each lower council's delegation to one higher council.

    ``represented`` maps each lower council to the members it represents (the census).
    ``fixed(n)`` gives ``n`` to each; ``per_members(k, min=m)`` gives
    ``max(m, represented // k)`` (rounded down: one seat per *full* k); ``apportioned``
    calls :func:`apportion` over the represented members with the policy's minimum.

    >>> dict(delegation_seats(PerMembers(25_000), {"moscow": 1_000_000, "tula": 20_000}).seats)
    {'moscow': 40, 'tula': 1}
    """
    pops = _check_populations(represented)
    if isinstance(policy, Fixed):
        seats = dict.fromkeys(pops, policy.seats)
        text = f"fixed({policy.seats}): every delegation holds {policy.seats} seat(s)"
        return Apportionment(
            seats=seats, method="fixed", draws=(), explanation=text + ".", populations=pops
        )
    if isinstance(policy, PerMembers):
        k, m = policy.members_per_seat, policy.min_seats
        seats = {key: max(m, p // k) for key, p in pops.items()}
        text = (
            f"per_members({k}): one seat per full {k} represented members, at least {m}: "
            + ", ".join(f"{key} {seats[key]} ({pops[key]})" for key in sorted(seats))
        )
        return Apportionment(
            seats=seats,
            method="per_members",
            draws=(),
            explanation=text + ".",
            min_seats=m,
            populations=pops,
        )
    if isinstance(policy, Apportioned):
        return apportion(
            policy.total, pops, method=policy.method, min_seats=policy.min_seats, seed=seed
        )
    raise ApportionmentError(
        f"expected Fixed, PerMembers or Apportioned, got {type(policy).__name__}",
        field="delegation_seats",
        code="invalid_seat_policy",
    )
