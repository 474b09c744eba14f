"""Closing at the deadline: the periodic task, the worker, and the tally in the record."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django_tasks_db.management.commands.db_worker import Worker as TaskWorker

from konsilo import canonical
from konsilo.counting.tally import count_ballots
from konsilo.web.decisions import actions, selectors, tasks
from konsilo.web.decisions.models import Proposal
from konsilo.web.errors import ConflictError
from konsilo.web.ledger.models import Entry
from konsilo.web.worker import enqueue_periodic_tasks
from tests.personas import Federation, build_federation
from tests.web.decisions_support import (
    NOTICE,
    START,
    WINDOW,
    bakery,
    bakery_voters,
    draft,
    refresh,
    to_discussion,
    to_voting,
)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def users(fed: Federation) -> list[Any]:
    return bakery_voters(fed)


def _vote(proposal: Proposal, users: list[Any], ballots: list[dict[str, Any]]) -> None:
    for user, ballot in zip(users, ballots, strict=False):
        actions.cast_ballot(actor=user, proposal=proposal, ballot=ballot)


def _recount_from_the_record(organisation: Any, proposal: Proposal) -> bytes:
    """What a verifier does: the last ballot of each voter from the record, counted again
    (with the seed the tally gives a count that may draw lots)."""
    opened = canonical.loads(
        Entry.objects.get(organisation=organisation, entry_type="vote.opened").data
    )
    tallied = canonical.loads(
        Entry.objects.get(organisation=organisation, entry_type="tally.recorded").data
    )
    if "seed" in tallied["rule"]:
        opened["rule"]["seed"] = tallied["rule"]["seed"]
    weights = opened["census"]["weights"]
    latest: dict[str, tuple[dict[str, Any], Fraction]] = {}
    for entry in Entry.objects.filter(organisation=organisation, entry_type="ballot.cast").order_by(
        "pk"
    ):
        data = canonical.loads(entry.data)
        if data["item"] != proposal.record_id:
            continue
        key = data.get("voter") or data["receipt"]
        assert data.get("voter") is None or weights[data["voter"]] == data["weight"]
        latest[key] = (data["ballot"], Fraction(data["weight"]))
    return count_ballots(opened["method"], opened["rule"], list(latest.values())).to_json()


def test_the_task_closes_a_vote_only_once_its_deadline_has_passed(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    _vote(proposal, users, [{"choice": c} for c in ["yes", "yes", "no", "yes", "abstain"]])
    clock.shift(WINDOW - clock_second())
    assert tasks.close_due_votes.call() == 0
    assert refresh(proposal).phase == "voting"
    clock.shift(clock_second())
    assert tasks.close_due_votes.call() == 1
    closed = refresh(proposal)
    assert (closed.phase, closed.outcome, closed.ballots_counted) == ("closed", "adopted", 5)
    assert closed.closed_at == START + NOTICE + WINDOW
    assert tasks.close_due_votes.call() == 0
    assert Entry.objects.filter(organisation=fed.org, entry_type="tally.recorded").count() == 1


def clock_second() -> Any:
    import datetime as dt

    return dt.timedelta(seconds=1)


def test_closing_twice_by_hand_does_nothing_the_second_time(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    clock.shift(WINDOW)
    assert actions.close_vote(proposal_id=proposal.pk) is not None
    assert actions.close_vote(proposal_id=proposal.pk) is None


def test_the_tally_entry_holds_result_rounds_policy_version_and_census(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    _vote(proposal, users, [{"choice": c} for c in ["yes", "no", "no", "yes", "yes", "yes"]])
    actions.change_ballot(actor=users[1], proposal=proposal, ballot={"choice": "yes"})
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    closed = refresh(proposal)
    entry = Entry.objects.get(organisation=fed.org, entry_type="tally.recorded")
    data = canonical.loads(entry.data)
    assert data["item"] == proposal.record_id
    assert data["method"] == "motion"
    assert data["ballots"] == 6
    assert data["policy_version"] == 1
    assert data["census"]["voters"] == 6
    assert len(data["census"]["weights"]) == 6
    assert data["result"]["rounds"][0]["tallies"] == {"yes": "5", "no": "1", "abstain": "0"}
    assert canonical.dumps(data["result"]) == closed.result.encode()
    assert _recount_from_the_record(fed.org, proposal) == closed.result.encode()


def test_a_vote_without_quorum_is_no_decision(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    _vote(proposal, users, [{"choice": "yes"}, {"choice": "yes"}])
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    closed = refresh(proposal)
    assert closed.outcome == "no_quorum"
    shown = selectors.disclosure(closed)
    assert shown is not None
    assert "quorum not met" in shown["summary"]


def test_ballots_after_the_deadline_are_refused_before_the_worker_closes(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    clock.shift(WINDOW)
    with pytest.raises(ConflictError, match="no longer accepted"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
    tasks.close_due_votes.call()
    with pytest.raises(ConflictError, match="phase closed"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})


def test_an_alternative_that_beats_the_status_quo_wins_the_schulze_count(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    main = draft(fed)
    alternative = actions.create_proposal(
        actor=fed.delegate,
        council=bakery(fed),
        title="Repair the old oven",
        text="Repair instead.",
        alternative_to=main,
    )
    to_discussion(fed, main, users)
    to_discussion(fed, alternative, users)
    clock.shift(NOTICE)
    actions.open_vote(actor=fed.member, proposal=main)
    main, alt, sq = main.record_id, alternative.record_id, actions.STATUS_QUO
    rankings = [[[alt], [main], [sq]]] * 3 + [[[main], [sq], [alt]]] * 2 + [[[alt], [sq]]]
    _vote(refresh_by_id(main), users, [{"ranking": r} for r in rankings])
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    closed = Proposal.objects.get(public_id=main.removeprefix("p-"))
    result = canonical.loads(closed.result)
    assert result["method"] == "schulze"
    assert result["winners"] == [alt]
    assert Proposal.objects.get(pk=alternative.pk).phase == "closed"
    assert _recount_from_the_record(fed.org, closed) == closed.result.encode()


def refresh_by_id(record_id: str) -> Proposal:
    return Proposal.objects.get(public_id=record_id.removeprefix("p-"))


@pytest.mark.parametrize(
    ("shape", "extra", "ballots", "winners"),
    [
        ("multi_option", {}, [{"choice": "o2"}] * 4 + [{"choice": "o1"}] * 2, ["o2"]),
        ("approval", {}, [{"approve": ["o1", "o3"]}] * 3 + [{"approve": ["o3"]}] * 2, ["o3"]),
        ("score", {}, [{"scores": {"o1": 10}}] * 2 + [{"scores": {"o2": 7}}] * 4, ["o2"]),
        ("dot_vote", {"dots": 5}, [{"dots": {"o1": 5}}] * 2 + [{"dots": {"o3": 2}}] * 4, ["o1"]),
        (
            "budget",
            {"budget": "100"},
            [{"approve": ["o1"]}] * 3 + [{"approve": ["o2", "o3"]}] * 3,
            ["o1", "o2"],
        ),
    ],
)
def test_every_shape_is_counted_at_the_close(
    fed: Federation,
    users: list[Any],
    clock: Any,
    shape: str,
    extra: dict[str, Any],
    ballots: list[dict[str, Any]],
    winners: list[str],
) -> None:
    options = [{"label": "Rye"}, {"label": "Spelt"}, {"label": "Oat"}]
    if shape == "budget":
        options = [dict(o, cost=c) for o, c in zip(options, (50, 50, 60), strict=True)]
    proposal = to_voting(fed, users, clock, ballot_shape=shape, options=options, **extra)
    _vote(proposal, users, ballots)
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    closed = refresh(proposal)
    assert canonical.loads(closed.result)["winners"] == winners
    assert _recount_from_the_record(fed.org, closed) == closed.result.encode()


def test_an_adopted_amendment_supersedes_the_earlier_decision(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    first = to_voting(fed, users, clock)
    _vote(first, users, [{"choice": "yes"}] * 6)
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    amendment = to_voting(
        fed,
        users,
        clock,
        decision_type="amend_or_rescind",
        supersedes=refresh(first),
        title="Rescind the oven",
    )
    assert amendment.rule["rule"] == "supermajority"
    assert amendment.rule["fraction"] == "2/3"
    _vote(amendment, users, [{"choice": "yes"}] * 4 + [{"choice": "no"}] * 2)
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    (superseded,) = Entry.objects.filter(organisation=fed.org, entry_type="decision.superseded")
    data = canonical.loads(superseded.data)
    assert data == {
        "item": first.record_id,
        "by": amendment.record_id,
        "rule": data["rule"],
        "valid_to": data["valid_to"],
    }
    assert data["rule"]["fraction"] == "2/3"


def test_the_worker_lists_the_closing_task() -> None:
    assert "konsilo.web.decisions.tasks.close_due_votes" in settings.KONSILO_PERIODIC_TASKS


@pytest.mark.django_db(transaction=True)
def test_the_worker_closes_a_due_vote_through_the_task_queue() -> None:
    fed = build_federation()
    users = bakery_voters(fed)
    with time_machine.travel(START, tick=False) as clock:
        proposal = to_voting(fed, users, clock)
        _vote(proposal, users, [{"choice": "no"}] * 4)
        clock.shift(WINDOW)
        assert enqueue_periodic_tasks() == 1
        assert enqueue_periodic_tasks() == 0  # still waiting: not enqueued twice
        TaskWorker(
            queue_names=["*"],
            interval=0.1,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()
    closed = refresh(proposal)
    assert (closed.phase, closed.outcome) == ("closed", "rejected")
    assert Entry.objects.filter(organisation=fed.org, entry_type="tally.recorded").count() == 1


def _draws(result: dict[str, Any]) -> list[Any]:
    return [d for r in result["rounds"] for d in r["draws"]]


def _irv(fed: Federation, users: list[Any], clock: Any, **kwargs: Any) -> Proposal:
    from konsilo.web.councils import actions as council_actions

    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"decision_rule.rule": "preferential(irv)", **kwargs.pop("policy", {})},
    )
    options = [{"label": "Rye"}, {"label": "Spelt"}, {"label": "Oat"}]
    return to_voting(fed, users, clock, ballot_shape="ranked", options=options, **kwargs)


def test_a_ranked_item_under_a_preferential_irv_rule_is_counted_by_irv(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    from konsilo.web.errors import InvalidInputError

    proposal = _irv(fed, users, clock)
    assert proposal.method == "irv"
    with pytest.raises(InvalidInputError, match="ballot"):
        actions.cast_ballot(
            actor=users[0], proposal=proposal, ballot={"ranking": [["o1", "o2"], ["o3"]]}
        )
    # First preferences: o1 2, o2 2, o3 1; o3 is excluded and its vote moves to o2.
    rankings = [[["o1"]]] * 2 + [[["o2"], ["o1"]]] * 2 + [[["o3"], ["o2"]]] * 1
    _vote(proposal, users, [{"ranking": r} for r in rankings])
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    closed = refresh(proposal)
    result = canonical.loads(closed.result)
    assert result["method"] == "irv"
    assert result["winners"] == ["o2"]
    assert len(result["rounds"]) == 2
    assert _draws(result) == []
    assert _recount_from_the_record(fed.org, closed) == closed.result.encode()


def test_the_seed_of_a_draw_exists_nowhere_while_the_vote_is_open(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    from django.test import Client

    proposal = _irv(fed, users, clock)
    _vote(proposal, users, [{"ranking": [[f"o{n}"]]} for n in (1, 2, 3)])
    clock.shift(WINDOW - clock_second())
    assert tasks.close_due_votes.call() == 0
    voting = refresh(proposal)
    assert voting.phase == "voting"
    assert "seed" not in voting.rule
    assert not Entry.objects.filter(organisation=fed.org, entry_type="vote.closed").exists()
    assert [e.entry_type for e in Entry.objects.filter(data__contains="seed")] == []
    client = Client()
    client.force_login(users[0])
    for path in (f"/api/v1/proposals/{proposal.record_id}", f"/p/{proposal.record_id}/"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"seed" not in response.content


def _drawn_tie(fed: Federation, users: list[Any], clock: Any, *, secret: bool) -> Proposal:
    """Three voters, each ranking a different option alone: every exclusion is a tie that
    looking back cannot settle, so both are drawn by lot."""
    policy = {"secrecy.ballot": "secret"} if secret else {}
    proposal = _irv(fed, users, clock, policy=policy)
    assert proposal.secret is secret
    _vote(proposal, users, [{"ranking": [[f"o{n}"]]} for n in (1, 2, 3)])
    clock.shift(WINDOW)
    assert tasks.close_due_votes.call() == 1
    return refresh(proposal)


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_a_tie_is_drawn_from_the_checkpoint_signed_after_the_vote_closed(
    fed: Federation, users: list[Any], clock: Any, secret: bool
) -> None:
    import hashlib

    from konsilo.counting import closing_seed
    from konsilo.web.ledger.models import Checkpoint
    from konsilo.web.ledger.sequencer import sequence

    closed = _drawn_tie(fed, users, clock, secret=secret)
    sequence(fed.org)  # the tally's place in the record (the worker's next round)
    result = canonical.loads(closed.result)
    assert len(_draws(result)) == 2
    entries = Entry.objects.filter(organisation=fed.org)
    [closing] = [
        e
        for e in entries.filter(entry_type="vote.closed")
        if canonical.loads(e.data)["item"] == closed.record_id
    ]
    [tally] = entries.filter(entry_type="tally.recorded")
    ballots = [e.index for e in entries.filter(entry_type="ballot.cast")]
    assert len(ballots) == 3
    assert max(ballots) < closing.index
    assert closing.recorded_at >= closed.closes_at
    # The first checkpoint signed over the closing seeds the draw; the tally comes after it.
    checkpoint = (
        Checkpoint.objects.filter(organisation=fed.org, size__gt=closing.index)
        .order_by("size")
        .first()
    )
    assert checkpoint is not None
    assert tally.index >= checkpoint.size
    seed = closing_seed(closed.record_id, hashlib.sha256(checkpoint.note.encode()).digest())
    data = canonical.loads(tally.data)
    assert data["rule"]["seed"] == closed.rule["seed"] == result["seed"] == seed
    assert data["seed_checkpoint"] == checkpoint.size
    opened = canonical.loads(entries.get(entry_type="vote.opened").data)
    assert data["rule"] == {**opened["rule"], "seed": seed}
    counted = [
        (canonical.loads(e.data)["ballot"], Fraction(1))
        for e in entries.filter(entry_type="ballot.cast")
    ]
    assert count_ballots("irv", data["rule"], counted).to_json() == closed.result.encode()


def test_a_close_waits_while_the_record_cannot_place_the_closing(
    fed: Federation, users: list[Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposal = _irv(fed, users, clock)
    _vote(proposal, users, [{"ranking": [[f"o{n}"]]} for n in (1, 2, 3)])
    clock.shift(WINDOW)
    with monkeypatch.context() as patched:
        patched.setattr(actions, "sequence", lambda organisation: [])  # another holds the log
        assert tasks.close_due_votes.call() == 0
    waiting = refresh(proposal)
    assert (waiting.phase, "seed" in waiting.rule) == ("voting", False)
    [closing] = Entry.objects.filter(organisation=fed.org, entry_type="vote.closed")
    assert closing.index is None
    with pytest.raises(ConflictError, match="ballots are no longer accepted"):
        actions.cast_ballot(actor=users[3], proposal=waiting, ballot={"ranking": [["o1"]]})
    assert tasks.close_due_votes.call() == 1
    closed = refresh(proposal)
    assert closed.phase == "closed"
    assert Entry.objects.filter(organisation=fed.org, entry_type="vote.closed").count() == 1
    assert len(_draws(canonical.loads(closed.result))) == 2
