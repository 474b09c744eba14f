"""Participatory budgeting over approval ballots: greedy, and the Method of Equal Shares.

Each voter approves any set of projects; each project has a cost; the budget is fixed. All
arithmetic is exact (``Fraction``); identical ballots are grouped, which changes nothing in
either rule because voters with the same ballot are always treated alike.

``greedy``: projects in order of approvals (most first), each funded if it still fits in
what is left of the budget; a project that no longer fits is skipped and the next one is
tried. Ties in approvals go to the cheaper project, then to the name in code-point order.
A project nobody approved is never funded.

``equal_shares`` (Method of Equal Shares, cost utilities, as on equalshares.net): the
budget is split equally among the voters. A project can be bought if its supporters still
hold enough money together; the price is then split as equally as possible among them, each
paying at most the same amount ``α`` (those with less pay all they have). The project with the
largest effective vote count ``cost / α`` is bought first; ties go to more approvals, then to
the lower cost, then to the name in code-point order. This repeats until nothing more can be
bought. Completion (``completion="add1"``): because the rule usually leaves money unspent,
the per-voter budget is raised by ``increment`` (one currency unit by default) and the rule
run again, as long as the outcome still fits in the real budget and is not yet exhaustive;
the last outcome that fits is kept. Then, with ``greedy_completion``, the remaining money is
spent greedily by approvals as above. This is the procedure equalshares.net publishes and
that Wieliczka (2023) and Świecie (2024) used.

Sources: Peters, Pierczyński, Skowron, "Proportional Participatory Budgeting with Additive
Utilities", NeurIPS 2021; equalshares.net (computation and completion); pabutools
(``method_of_equal_shares``, ``exhaustion_by_budget_increase``).

>>> ballots = [{"Park"}, {"Park", "Library"}, {"Library"}, {"Bikes"}]
>>> r = equal_shares(ballots, projects={"Park": 40, "Library": 50, "Bikes": 30}, budget=100)
>>> r.winners
('Park', 'Bikes')
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from konsilo.counting.result import Result, Round

__all__ = ["BudgetError", "count", "equal_shares", "greedy"]

Number = int | Fraction


class BudgetError(ValueError):
    """Budgeting input is malformed; the message names the field or ballot."""


def _n(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _exact(field: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise BudgetError(f"{field}: expected an int or Fraction, got {value!r}")
    exact = Fraction(value)
    if exact < 0:
        raise BudgetError(f"{field}: expected a non-negative amount, got {_n(exact)}")
    return exact


@dataclass(frozen=True)
class _Election:
    costs: Mapping[str, Fraction]
    budget: Fraction
    groups: tuple[tuple[frozenset[str], int], ...]  # (approved projects, number of voters)
    voters: int
    approvals: Mapping[str, int]

    @property
    def names(self) -> list[str]:
        return sorted(self.costs)


def _prepare(
    ballots: Iterable[Collection[str]], projects: Mapping[str, Number], budget: Number
) -> _Election:
    if not projects:
        raise BudgetError("projects: expected at least one project, got none")
    costs = {}
    for name, cost in projects.items():
        if not isinstance(name, str):
            raise BudgetError(f"projects: project names must be strings, got {name!r}")
        costs[name] = _exact(f"projects[{name!r}]", cost)
    total = _exact("budget", budget)
    grouped: dict[frozenset[str], int] = {}
    voters = 0
    for number, ballot in enumerate(ballots, start=1):
        if isinstance(ballot, str):
            raise BudgetError(
                f"ballot {number}: expected a set of projects, got the string {ballot!r}"
            )
        listed = list(ballot)
        approved = frozenset(listed)
        if len(approved) != len(listed):
            raise BudgetError(f"ballot {number}: a project is approved twice")
        unknown = sorted(approved - costs.keys())
        if unknown:
            raise BudgetError(f"ballot {number}: unknown project {unknown[0]!r}")
        grouped[approved] = grouped.get(approved, 0) + 1
        voters += 1
    approvals = dict.fromkeys(costs, 0)
    for approved, count in grouped.items():
        for name in approved:
            approvals[name] += count
    groups = tuple(sorted(grouped.items(), key=lambda item: sorted(item[0])))
    return _Election(costs, total, groups, voters, approvals)


def _greedy_order(election: _Election, names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda c: (-election.approvals[c], election.costs[c], c))


def _fill_greedily(election: _Election, chosen: list[str], number: int) -> tuple[list[str], Round]:
    spent = sum((election.costs[c] for c in chosen), Fraction(0))
    candidates = _greedy_order(
        election, (c for c in election.names if c not in chosen and election.approvals[c] > 0)
    )
    added: list[str] = []
    skipped: list[str] = []
    for name in candidates:
        if spent + election.costs[name] <= election.budget:
            added.append(name)
            spent += election.costs[name]
        else:
            skipped.append(name)
    parts = [
        f"{c} ({election.approvals[c]} approvals, cost {_n(election.costs[c])})" for c in added
    ]
    left = election.budget - sum((election.costs[c] for c in chosen), Fraction(0))
    explanation = (
        f"By approvals, within the {_n(left)} left: "
        + (f"funded {', '.join(parts)}" if parts else "nothing more fits")
        + (f"; skipped {', '.join(skipped)} (no longer fits)" if skipped else "")
    )
    round_ = Round(
        number=number,
        tallies={c: Fraction(election.approvals[c]) for c in candidates},
        explanation=explanation,
        threshold=election.budget,
        elected=tuple(added),
        extra={"skipped": skipped, "spent": spent},
    )
    return added, round_


def _result(
    *,
    method: str,
    rule: Mapping[str, Any],
    election: _Election,
    winners: list[str],
    rounds: list[Round],
    details: Mapping[str, Any],
    note: str = "",
) -> Result:
    spent = sum((election.costs[c] for c in winners), Fraction(0))
    summary = (
        f"{', '.join(winners) if winners else 'No project'} funded for {_n(spent)} of "
        f"{_n(election.budget)}; {_n(election.budget - spent)} left"
    )
    if note:
        summary += f" ({note})"
    return Result(
        method=method,
        rule={**rule, "budget": election.budget, "projects": dict(election.costs)},
        winners=tuple(winners),
        rounds=tuple(rounds),
        outcome="selected",
        summary=summary,
        details={
            **details,
            "voters": election.voters,
            "approvals": {c: election.approvals[c] for c in election.names},
            "spent": spent,
            "left": election.budget - spent,
        },
    )


def greedy(
    ballots: Iterable[Collection[str]], *, projects: Mapping[str, Number], budget: Number
) -> Result:
    """Fund projects by approvals within the budget; see the module docstring for ties.

    >>> r = greedy([{"A"}, {"A", "B"}, {"C"}], projects={"A": 60, "B": 50, "C": 40}, budget=100)
    >>> r.winners
    ('A', 'C')
    """
    election = _prepare(ballots, projects, budget)
    chosen, round_ = _fill_greedily(election, [], 1)
    return _result(
        method="greedy",
        rule={"method": "greedy"},
        election=election,
        winners=chosen,
        rounds=[round_],
        details={},
    )


@dataclass
class _Run:
    selected: list[str]
    rounds: list[Round]
    share: Fraction


def _max_payment(cost: Fraction, supporters: list[tuple[Fraction, int]]) -> Fraction | None:
    """The largest payment α so that supporters paying min(budget, α) cover the cost."""
    if sum((b * m for b, m in supporters), Fraction(0)) < cost:
        return None
    paid = Fraction(0)
    remaining = sum(m for _, m in supporters)
    for held, count in sorted(supporters):
        alpha = (cost - paid) / remaining
        if alpha <= held:
            return alpha
        paid += held * count
        remaining -= count
    raise AssertionError("supporters hold enough money, so some α must fit")


def _equal_shares_fixed(election: _Election, total: Fraction, first_round: int) -> _Run:
    share = total / election.voters if election.voters else Fraction(0)
    held = [share] * len(election.groups)
    supporters = {
        c: [g for g, (approved, _) in enumerate(election.groups) if c in approved]
        for c in election.names
    }
    remaining = [c for c in election.names if election.costs[c] > 0 and election.approvals[c] > 0]
    selected: list[str] = []
    rounds: list[Round] = []
    while True:
        counts: dict[str, Fraction] = {}
        alphas: dict[str, Fraction] = {}
        for name in list(remaining):
            cost = election.costs[name]
            alpha = _max_payment(cost, [(held[g], election.groups[g][1]) for g in supporters[name]])
            if alpha is None:
                remaining.remove(name)  # its supporters' money only shrinks
                continue
            alphas[name] = alpha
            counts[name] = cost / alpha
        if not counts:
            break
        best = min(
            counts,
            key=lambda c: (-counts[c], -election.approvals[c], election.costs[c], c),
        )
        alpha = alphas[best]
        for g in supporters[best]:
            held[g] = held[g] - alpha if held[g] > alpha else Fraction(0)
        remaining.remove(best)
        selected.append(best)
        rivals = [c for c in counts if c != best and counts[c] == counts[best]]
        tie_note = (
            f" (tied with {', '.join(rivals)} on effective votes; more approvals, lower cost, "
            "then name decide)"
            if rivals
            else ""
        )
        rounds.append(
            Round(
                number=first_round + len(rounds),
                tallies=counts,
                explanation=(
                    f"{best} bought for {_n(election.costs[best])}: each of its "
                    f"{election.approvals[best]} supporters pays at most {_n(alpha)} "
                    f"(effective vote count {_n(counts[best])}){tie_note}"
                ),
                elected=(best,),
                extra={"max_payment": alpha, "per_voter_budget": share},
            )
        )
    return _Run(selected, rounds, share)


def equal_shares(
    ballots: Iterable[Collection[str]],
    *,
    projects: Mapping[str, Number],
    budget: Number,
    completion: Literal["add1", "none"] = "add1",
    increment: Number = 1,
    greedy_completion: bool = True,
) -> Result:
    """The Method of Equal Shares with add1 and greedy completion; see the module docstring.

    Rounds: one per project bought in the final run of the rule, with the effective vote
    count of every project still affordable as ``tallies``, then one round for the greedy
    completion. ``details`` gives the per-voter budget used, the number of increments, the
    projects bought by the rule and by the completion.

    >>> r = equal_shares(
    ...     [{"A"}, {"B"}], projects={"A": 3, "B": 3}, budget=4, completion="none",
    ...     greedy_completion=False,
    ... )
    >>> r.winners, r.details["per_voter_budget"]
    ((), Fraction(2, 1))
    """
    if completion not in ("add1", "none"):
        raise BudgetError(f"completion: expected add1 or none, got {completion!r}")
    step = _exact("increment", increment)
    if completion == "add1" and step <= 0:
        raise BudgetError("increment: expected a positive amount per voter, got 0")
    election = _prepare(ballots, projects, budget)

    def cost_of(names: Iterable[str]) -> Fraction:
        return sum((election.costs[c] for c in names), Fraction(0))

    buyable = {c for c in election.names if election.costs[c] > 0 and election.approvals[c] > 0}
    total = election.budget
    run = _equal_shares_fixed(election, total, 1)
    increments = 0
    if completion == "add1" and election.voters:
        while True:
            spent = cost_of(run.selected)
            exhaustive = all(
                spent + election.costs[c] > election.budget
                for c in election.names
                if c not in run.selected
            )
            if exhaustive or buyable <= set(run.selected):
                break
            candidate = _equal_shares_fixed(election, total + step * election.voters, 1)
            if cost_of(candidate.selected) > election.budget:
                break
            total += step * election.voters
            increments += 1
            run = candidate
    rounds = list(run.rounds)
    completed: list[str] = []
    if greedy_completion:
        completed, last = _fill_greedily(election, list(run.selected), len(rounds) + 1)
        rounds.append(last)
    if not rounds:
        rounds.append(
            Round(
                number=1,
                tallies={},
                explanation="No project can be bought by its supporters' equal shares",
            )
        )
    first_share = election.budget / election.voters if election.voters else Fraction(0)
    note = (
        f"per-voter budget {_n(first_share)} raised {increments} time(s) by {_n(step)} "
        f"to {_n(run.share)}"
        if completion == "add1"
        else f"per-voter budget {_n(run.share)}"
    )
    return _result(
        method="equal_shares",
        rule={
            "method": "equal_shares",
            "utilities": "cost",
            "completion": completion,
            "increment": step,
            "greedy_completion": greedy_completion,
        },
        election=election,
        winners=[*run.selected, *completed],
        rounds=rounds,
        details={
            "per_voter_budget": run.share,
            "increments": increments,
            "equal_shares_selected": list(run.selected),
            "completion_selected": completed,
        },
        note=note,
    )


def count(
    ballots: Iterable[Collection[str]],
    *,
    projects: Mapping[str, Number],
    budget: Number,
    method: Literal["equal_shares", "greedy"] = "equal_shares",
) -> Result:
    """Count a participatory budget with the named method and its default completion."""
    if method == "greedy":
        return greedy(ballots, projects=projects, budget=budget)
    if method == "equal_shares":
        return equal_shares(ballots, projects=projects, budget=budget)
    raise BudgetError(f"method: expected equal_shares or greedy, got {method!r}")
