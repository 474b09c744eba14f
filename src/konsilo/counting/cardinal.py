"""One-shot cardinal methods: plurality, approval, score (range) and dot voting.

Every method adds up exact support per option and elects the ``seats`` options with the most.
Ballots may carry exact weights (a delegation casting its represented members), so tallies
are integers or ``Fraction``s, never floats.

Ties: when options tie for the last seat(s), the result is set-valued. ``winners`` holds the
options that won outright and ``tied`` the options tied for the remaining seats, with outcome
``"tie"``. Only when the caller asks for it (``settle_ties_by_lot=True``) and gives a published
``seed`` are the remaining seats drawn by lot among the tied, one recorded ``Draw`` per seat
(``konsilo.counting.tiebreak.Lot``).

Sources: plurality and approval voting (Brams & Fishburn, "Approval Voting", American
Political Science Review 72(3), 1978); score/range voting (Smith, rangevoting.org); dot voting
or cumulative voting (Glasser, 1959; the facilitation practice of "dotmocracy").

>>> r = approval([{"Ana", "Bea"}, {"Bea"}, {"Cem"}], candidates=["Ana", "Bea", "Cem"])
>>> r.winners, r.rounds[0].tallies["Bea"]
(('Bea',), Fraction(2, 1))
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.tiebreak import Lot

__all__ = ["BallotError", "approval", "dot_vote", "plurality", "score"]

Number = int | Fraction


class BallotError(ValueError):
    """A ballot is malformed; the message names the ballot number and the problem."""


def _n(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _candidates(candidates: Sequence[str]) -> tuple[str, ...]:
    names = tuple(candidates)
    if not names:
        raise BallotError("candidates: expected at least one option, got none")
    if len(set(names)) != len(names):
        raise BallotError("candidates: an option appears twice")
    return names


def _weights(weights: Iterable[Number] | None) -> Iterable[Fraction] | None:
    if weights is None:
        return None
    out = []
    for number, w in enumerate(weights, start=1):
        if isinstance(w, bool) or not isinstance(w, int | Fraction):
            raise BallotError(f"ballot {number}: weight must be an int or Fraction, got {w!r}")
        if w < 0:
            raise BallotError(f"ballot {number}: weight {w} is negative")
        out.append(Fraction(w))
    return out


def _pair(ballots: Iterable[Any], weights: Iterable[Number] | None) -> list[tuple[Any, Fraction]]:
    items = list(ballots)
    exact = _weights(weights)
    if exact is None:
        return [(b, Fraction(1)) for b in items]
    listed = list(exact)
    if len(listed) != len(items):
        raise BallotError(
            f"weights: expected {len(items)} weights, one per ballot, got {len(listed)}"
        )
    return list(zip(items, listed, strict=True))


def _check_known(number: int, names: Iterable[str], known: Collection[str]) -> None:
    for name in names:
        if name not in known:
            raise BallotError(f"ballot {number}: unknown option {name!r}")


def _select(
    *,
    method: str,
    rule: Mapping[str, Any],
    tallies: Mapping[str, Fraction],
    order: Sequence[str],
    seats: int,
    seed: str | None,
    settle_ties_by_lot: bool,
    unit: str,
    blank: Fraction,
    details: Mapping[str, Any],
) -> Result:
    """Elect the ``seats`` options with the largest tallies; ties set-valued or by lot."""
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= len(order):
        raise BallotError(f"seats: expected a whole number from 1 to {len(order)}, got {seats!r}")
    if settle_ties_by_lot and seed is None:
        raise BallotError("seed: settling ties by lot needs a published seed")
    # Highest tally first; the name only fixes a display order inside equal tallies.
    ranked = sorted(order, key=lambda c: (-tallies[c], c))
    cutoff = tallies[ranked[seats - 1]]
    outright = tuple(c for c in ranked if tallies[c] > cutoff)
    at_cutoff = [c for c in ranked if tallies[c] == cutoff]
    open_seats = seats - len(outright)
    draws: list[Draw] = []
    tied: frozenset[str] = frozenset()
    if len(at_cutoff) == open_seats:
        winners = outright + tuple(at_cutoff)
        outcome = "elected"
    elif settle_ties_by_lot:
        lot = Lot(seed)
        pool = list(at_cutoff)
        chosen: list[str] = []
        for _ in range(open_seats):
            draw = lot.draw(pool, reason=f"tie at {_n(cutoff)} {unit} for a seat")
            draws.append(draw)
            chosen.append(draw.chosen)
            pool.remove(draw.chosen)
        winners = outright + tuple(chosen)
        outcome = "elected"
    else:
        winners = outright
        tied = frozenset(at_cutoff)
        outcome = "tie"

    listing = ", ".join(f"{c} {_n(tallies[c])}" for c in ranked)
    if blank:
        listing += f" (blank {_n(blank)})"
    seat_words = "the seat" if seats == 1 else f"{seats} seats"
    if outcome == "tie":
        tail = (
            f"{', '.join(sorted(at_cutoff))} tie at {_n(cutoff)} {unit} for "
            f"{open_seats} of {seat_words}: tie"
        )
        if outright:
            tail = f"{', '.join(outright)} elected; {tail}"
    else:
        tail = f"{', '.join(winners)} elected"
        if draws:
            tail += f" ({', '.join(d.chosen for d in draws)} by lot among {', '.join(at_cutoff)})"
    sentence = f"{method.replace('_', ' ').capitalize()} for {seat_words}: {listing}; {tail}"
    round_ = Round(
        number=1,
        tallies=tallies,
        explanation=sentence,
        threshold=cutoff,
        elected=winners,
        exhausted=blank,
        draws=tuple(draws),
        extra={"ranking": ranked},
    )
    return Result(
        method=method,
        rule={**rule, "seats": seats, "settle_ties_by_lot": settle_ties_by_lot},
        winners=winners,
        rounds=(round_,),
        outcome=outcome,
        summary=sentence,
        tied=tied,
        seed=seed,
        details=details,
    )


def plurality(
    ballots: Iterable[str | None],
    *,
    candidates: Sequence[str],
    seats: int = 1,
    weights: Iterable[Number] | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Plurality: each ballot names one option (``None`` for a blank); most votes win.

    With ``seats`` > 1 the top ``seats`` options are elected (single non-transferable
    vote). Ties for the last seat are set-valued unless settled by lot (module docstring).
    Blank ballots are counted in ``exhausted``, never for an option.

    >>> plurality(["Ana", "Bea", "Ana", None], candidates=["Ana", "Bea"]).summary
    'Plurality for the seat: Ana 2, Bea 1 (blank 1); Ana elected'
    """
    names = _candidates(candidates)
    tallies = dict.fromkeys(names, Fraction(0))
    blank = Fraction(0)
    for number, (choice, weight) in enumerate(_pair(ballots, weights), start=1):
        if choice is None:
            blank += weight
            continue
        if not isinstance(choice, str):
            raise BallotError(f"ballot {number}: expected one option name, got {choice!r}")
        _check_known(number, [choice], tallies)
        tallies[choice] += weight
    return _select(
        method="plurality",
        rule={"method": "plurality"},
        tallies=tallies,
        order=names,
        seats=seats,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
        unit="votes",
        blank=blank,
        details={},
    )


def approval(
    ballots: Iterable[Collection[str]],
    *,
    candidates: Sequence[str],
    seats: int = 1,
    weights: Iterable[Number] | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Approval voting: each ballot approves any set of options; most approvals win.

    With ``seats`` > 1 the ``seats`` most-approved options are elected (block approval).
    An option listed twice on one ballot is refused. Empty ballots are counted as blank.
    Ties for the last seat are set-valued unless settled by lot.

    >>> r = approval([{"Ana"}, {"Bea"}], candidates=["Ana", "Bea"])
    >>> r.outcome, sorted(r.tied)
    ('tie', ['Ana', 'Bea'])
    """
    names = _candidates(candidates)
    tallies = dict.fromkeys(names, Fraction(0))
    blank = Fraction(0)
    for number, (approved, weight) in enumerate(_pair(ballots, weights), start=1):
        if isinstance(approved, str):
            raise BallotError(
                f"ballot {number}: expected a set of options, got the string {approved!r}"
            )
        listed = list(approved)
        if len(set(listed)) != len(listed):
            raise BallotError(f"ballot {number}: an option is approved twice")
        _check_known(number, listed, tallies)
        if not listed:
            blank += weight
        for name in listed:
            tallies[name] += weight
    return _select(
        method="approval",
        rule={"method": "approval"},
        tallies=tallies,
        order=names,
        seats=seats,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
        unit="approvals",
        blank=blank,
        details={},
    )


def score(
    ballots: Iterable[Mapping[str, Number]],
    *,
    candidates: Sequence[str],
    min_score: int = 0,
    max_score: int = 10,
    seats: int = 1,
    weights: Iterable[Number] | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Score (range) voting: each ballot scores options on ``min_score..max_score``; sums win.

    Scores are whole numbers or exact fractions within the scale. An option a ballot leaves
    unscored receives ``min_score`` from it. The tally is the weighted sum of scores; there is
    deliberately no averaging option: with every option scored by every ballot the average
    orders options exactly as the sum does, and averaging over only those who scored an option
    would let an option scored by a handful of enthusiasts win. Ties for the last seat are
    set-valued unless settled by lot.

    >>> r = score([{"Ana": 9, "Bea": 5}, {"Bea": 10}], candidates=["Ana", "Bea"], max_score=10)
    >>> r.winners, r.rounds[0].tallies["Bea"]
    (('Bea',), Fraction(15, 1))
    """
    names = _candidates(candidates)
    if min_score >= max_score:
        raise BallotError(f"max_score: expected more than min_score {min_score}, got {max_score}")
    low, high = Fraction(min_score), Fraction(max_score)
    tallies = dict.fromkeys(names, Fraction(0))
    for number, (scores, weight) in enumerate(_pair(ballots, weights), start=1):
        if not isinstance(scores, Mapping):
            raise BallotError(f"ballot {number}: expected a mapping of option to score")
        _check_known(number, scores, tallies)
        for name in names:
            value = scores.get(name, min_score)
            if isinstance(value, bool) or not isinstance(value, int | Fraction):
                raise BallotError(
                    f"ballot {number}: score of {name!r} must be an int or Fraction, got {value!r}"
                )
            if not low <= value <= high:
                raise BallotError(
                    f"ballot {number}: score of {name!r} must be from {min_score} to "
                    f"{max_score}, got {value}"
                )
            tallies[name] += weight * Fraction(value)
    return _select(
        method="score",
        rule={"method": "score", "min_score": min_score, "max_score": max_score},
        tallies=tallies,
        order=names,
        seats=seats,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
        unit="points",
        blank=Fraction(0),
        details={},
    )


def dot_vote(
    ballots: Iterable[Mapping[str, int]],
    *,
    candidates: Sequence[str],
    dots: int,
    seats: int = 1,
    weights: Iterable[Number] | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Dot voting (cumulative): each ballot places up to ``dots`` whole dots on options.

    A voter may put several dots on one option; dots left unplaced are simply not used.
    A ballot with more dots than the budget is refused with its number and its total, never
    scaled down. The tally is the weighted number of dots; the ``seats`` options with the
    most dots win. Ties for the last seat are set-valued unless settled by lot.

    >>> r = dot_vote([{"Ana": 2, "Bea": 1}, {"Bea": 3}], candidates=["Ana", "Bea"], dots=3)
    >>> r.winners, r.rounds[0].tallies["Bea"]
    (('Bea',), Fraction(4, 1))
    """
    names = _candidates(candidates)
    if isinstance(dots, bool) or not isinstance(dots, int) or dots < 1:
        raise BallotError(f"dots: expected a whole number of dots per voter, got {dots!r}")
    tallies = dict.fromkeys(names, Fraction(0))
    unused = Fraction(0)
    for number, (placed, weight) in enumerate(_pair(ballots, weights), start=1):
        if not isinstance(placed, Mapping):
            raise BallotError(f"ballot {number}: expected a mapping of option to dots")
        _check_known(number, placed, tallies)
        total = 0
        for name, value in placed.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BallotError(
                    f"ballot {number}: dots on {name!r} must be a whole number ≥ 0, got {value!r}"
                )
            total += value
        if total > dots:
            raise BallotError(f"ballot {number}: places {total} dots, but each voter has {dots}")
        for name, value in placed.items():
            tallies[name] += weight * value
        unused += weight * (dots - total)
    return _select(
        method="dot_vote",
        rule={"method": "dot_vote", "dots": dots},
        tallies=tallies,
        order=names,
        seats=seats,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
        unit="dots",
        blank=Fraction(0),
        details={"unused_dots": unused},
    )
