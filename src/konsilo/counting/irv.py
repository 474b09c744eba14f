"""Instant-runoff voting (the alternative vote), one seat.

Rule: each ballot counts for its most preferred continuing candidate. A candidate with more
than half of the votes of the continuing candidates (ballots with no continuing preference
left are exhausted and no longer counted) is elected. Otherwise the candidate with the fewest
votes is excluded and their ballots move to their next continuing preference, and the count
goes on; the last continuing candidate is elected.

Ties for exclusion: the candidate with fewer votes at the most recent earlier round at which
the tied candidates had unequal votes is excluded (the look-back rule of the Scottish Local
Government Elections Order 2007, SSI 2007/42, Schedule 1, rule 51, and of most statutes using
IRV); a tie at every earlier round is drawn by lot from the published seed, and the draw is
recorded in the round. Withdrawn candidates are skipped on every ballot. Equal rankings are
refused (``EqualRankingError``).

Source: the majority-of-continuing-votes rule as in Robert's Rules of Order (12th ed.,
45:62-63, "preferential voting") and the alternative vote of the UK Parliamentary Voting
System and Constituencies Act 2011, Schedule 10 (the referendum's proposed rules); the same
result as Scottish STV with one seat.

Speed: the count works on the profile's array form (one row per distinct ranking, one
current-preference pointer per row); an exclusion touches only the rows of the excluded
candidate.

>>> from konsilo.counting.profile import RankedProfile
>>> ballots = [["Ana"]] * 4 + [["Bea", "Cai"]] * 3 + [["Cai", "Bea"]] * 2
>>> r = count(RankedProfile.from_rankings(["Ana", "Bea", "Cai"], ballots))
>>> r.winners, [x.excluded for x in r.rounds]
(('Bea',), [('Cai',), ()])
"""

from __future__ import annotations

from collections.abc import Collection
from fractions import Fraction
from typing import Any

from konsilo.counting.profile import RankedProfile
from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.stv import Ballots, Number, break_tie, format_number, strict_counts
from konsilo.counting.tiebreak import Lot

__all__ = ["IRVError", "count"]


class IRVError(ValueError):
    """An IRV count was asked something impossible; the message names the field."""


def count(
    profile: RankedProfile, *, seed: str | None = None, withdrawn: Collection[str] = ()
) -> Result:
    """Count a single-seat election by instant-runoff; see the module docstring for the rule.

    Each round's ``threshold`` is half the continuing votes (a winner needs more),
    ``exhausted`` the ballots exhausted so far; ``details["majority_round"]`` is the round in
    which the winner had a majority (or ``None`` when the winner was the last continuing).

    >>> from konsilo.counting.profile import RankedProfile
    >>> count(RankedProfile.from_rankings(["A", "B"], [["A"], ["B"], ["A"]])).summary
    'A is elected by instant-runoff with 2 of 3 continuing votes.'
    """
    unknown = set(withdrawn) - set(profile.candidates)
    if unknown:
        raise IRVError(f"withdrawn: unknown candidate(s) {sorted(unknown)}")
    names = profile.candidates
    out = frozenset(profile.withdrawn) | frozenset(withdrawn)
    matrix, counts, unit = strict_counts(profile, "instant-runoff", whole=False)
    standing = [c not in out for c in names]
    ballots = Ballots(matrix, counts, standing, 1 if unit == 1 else unit)
    lot = Lot(seed)
    tally = ballots.tally
    hopeful = [c for c, s in enumerate(standing) if s]
    history: list[list[Number]] = []
    rounds: list[Round] = []
    exhausted: Number = 0
    winner: int | None = None
    majority_round: int | None = None
    transfers: dict[int, Number] = {}
    excluded_last: int | None = None
    lead = ""
    draws: list[Draw] = []
    while hopeful:
        history.append(list(tally))
        number = len(rounds) + 1
        continuing = sum((tally[c] for c in hopeful), 0)
        half = Fraction(continuing) / 2
        top = max(tally[c] for c in hopeful)
        leaders = [c for c in hopeful if tally[c] == top]
        parts = [lead] if lead else []
        excluded: tuple[str, ...] = ()
        elected: tuple[str, ...] = ()
        if len(leaders) == 1 and (top > half or len(hopeful) == 1):
            winner = leaders[0]
            elected = (names[winner],)
            if top > half:
                majority_round = number
                parts.append(
                    f"{names[winner]} has {format_number(Fraction(top))} of "
                    f"{format_number(Fraction(continuing))} continuing votes, more than half, "
                    "and is elected"
                )
            else:
                parts.append(f"{names[winner]} is the last continuing candidate and is elected")
        else:
            fewest = min(tally[c] for c in hopeful)
            tied = [c for c in hopeful if tally[c] == fewest]
            loser, why, draws = break_tie(
                names, history, tied, lowest=True, purpose="tie for exclusion", lot=lot
            )
            parts.append(
                "no candidate has more than half of the "
                f"{format_number(Fraction(continuing))} continuing votes"
            )
            if why:
                parts.append(why)
            parts.append(
                f"{names[loser]} has the fewest votes ({format_number(Fraction(fewest))}) and "
                "is excluded"
            )
            excluded = (names[loser],)
        rounds.append(
            Round(
                number=number,
                tallies={names[c]: Fraction(tally[c]) for c in hopeful},
                explanation=f"Round {number}: {'; '.join(parts)}.",
                threshold=half,
                elected=elected,
                excluded=excluded,
                transfers={names[c]: Fraction(v) for c, v in transfers.items()},
                exhausted=Fraction(exhausted),
                draws=tuple(draws),
                extra=_extra(excluded_last, names),
            )
        )
        draws = []
        if winner is not None:
            break
        # Move the excluded candidate's ballots on; the next round shows where they went.
        ballots.continuing[loser] = False
        hopeful.remove(loser)
        credited, gone = ballots.transfer(loser)
        tally[loser] = 0
        exhausted += gone
        transfers = credited
        excluded_last = loser
        moved = ", ".join(
            f"{names[c]} +{format_number(Fraction(v))}"
            for c, v in sorted(credited.items(), key=lambda i: (-Fraction(i[1]), i[0]))
            if v
        )
        lead = f"{names[loser]}'s ballots moved on ({moved or 'none to a continuing candidate'}"
        lead += f"; {format_number(Fraction(gone))} exhausted)" if gone else ")"
    total = Fraction(sum(ballots.tally)) + Fraction(exhausted)
    if winner is None:
        summary = "No candidate stands: nobody is elected by instant-runoff."
        winners: tuple[str, ...] = ()
    else:
        winners = (names[winner],)
        final = rounds[-1]
        continuing_total = sum(final.tallies.values(), Fraction(0))
        summary = (
            f"{names[winner]} is elected by instant-runoff with "
            f"{format_number(final.tallies[names[winner]])} of "
            f"{format_number(continuing_total)} continuing votes."
        )
    details: dict[str, Any] = {
        "majority_round": majority_round,
        "valid_ballots": total,
        "exhausted": Fraction(exhausted),
        "invalid_ballots": profile.empty + Fraction(ballots.invalid),
    }
    return Result(
        method="irv",
        rule={"method": "irv", "withdrawn": sorted(out)},
        winners=winners,
        rounds=tuple(rounds),
        outcome="elected" if winners else "none_elected",
        summary=summary,
        seed=seed,
        details=details,
    )


def _extra(excluded_last: int | None, names: tuple[str, ...]) -> dict[str, Any]:
    if excluded_last is None:
        return {"action": "first_preferences"}
    return {"action": "exclusion_transfer", "from": names[excluded_last]}
