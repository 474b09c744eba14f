"""Open ballots: cast once, change until the close, the frozen census, shapes and refusals."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions import actions
from konsilo.web.decisions.models import Ballot, VoterRoll
from konsilo.web.errors import ConflictError, InvalidInputError, PermissionDeniedError
from konsilo.web.ledger.models import Entry
from tests.personas import Api, Federation
from tests.web.decisions_support import START, WINDOW, api_for, bakery_voters, to_voting


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def users(fed: Federation) -> list[Any]:
    return bakery_voters(fed)


def test_voting_opens_with_the_census_frozen(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    assert proposal.census["voters"] == 6
    assert VoterRoll.objects.filter(proposal=proposal).count() == 6
    assert proposal.rule["eligible"] == 6
    assert proposal.rule["quorum"] == {"fraction": "1/2", "basis": "members", "strict": False}
    opened = Entry.objects.get(organisation=fed.org, entry_type="vote.opened")
    assert '"weights":{' in opened.data
    assert '"policy_version":1' in opened.data


def test_a_member_joining_after_the_vote_opened_cannot_vote(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    newcomer = council_actions.add_member(
        actor=fed.steward, organisation=fed.org, name="Late Baker", email="late@example.org",
        base="bakery",
    )  # fmt: skip
    user = get_user_model().objects.create_user("late", "late@example.org", "pw-late-123")
    council_actions.link_user(actor=fed.steward, member=newcomer, user=user)
    with pytest.raises(PermissionDeniedError, match="not in the census of this vote"):
        actions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": "yes"})


def test_a_member_casts_then_changes_the_ballot_until_the_close(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    assert (
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"}) is None
    )
    clock.shift(WINDOW / 2)
    actions.change_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    row = Ballot.objects.get(proposal=proposal)
    assert row.content == {"choice": "no"}
    assert row.changed_at > row.cast_at
    cast = Entry.objects.filter(organisation=fed.org, entry_type="ballot.cast").order_by("pk")
    assert [e.data.count('"choice":"no"') for e in cast] == [0, 1]
    assert all(fed.plain_member.record_id in e.data for e in cast)
    clock.shift(WINDOW / 2)
    with pytest.raises(ConflictError, match="ballots are no longer accepted"):
        actions.change_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
    assert Ballot.objects.get(proposal=proposal).content == {"choice": "no"}


def test_casting_twice_is_refused(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
    with pytest.raises(ConflictError, match="voted already"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    assert Ballot.objects.filter(proposal=proposal).count() == 1


def test_changing_before_casting_is_refused(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    with pytest.raises(ConflictError, match="cast a ballot first"):
        actions.change_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})


@pytest.mark.django_db(transaction=True)
def test_the_database_keeps_one_open_ballot_per_member_per_item(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(
            proposal=proposal,
            member=fed.plain_member,
            content={"choice": "no"},
            weight="1",
            cast_at=now,
            changed_at=now,
        )
    assert Ballot.objects.filter(proposal=proposal).count() == 1


def test_a_vote_not_yet_open_takes_no_ballots(fed: Federation, users: list[Any]) -> None:
    from tests.web.decisions_support import draft

    proposal = draft(fed)
    with pytest.raises(ConflictError, match="phase draft"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})


def test_an_outsider_cannot_vote(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    with pytest.raises(PermissionDeniedError):
        actions.cast_ballot(actor=fed.outsider, proposal=proposal, ballot={"choice": "yes"})


@pytest.mark.parametrize(
    ("ballot", "message"),
    [
        ({"choice": "perhaps"}, "choice: expected yes, no or abstain"),
        ({"vote": "yes"}, "missing choice; unexpected vote"),
        ({}, "missing choice"),
        ({"choice": "yes", "voter": "m-someone"}, "unexpected voter"),
    ],
)
def test_a_ballot_of_the_wrong_shape_is_refused(
    fed: Federation, users: list[Any], clock: Any, ballot: dict[str, Any], message: str
) -> None:
    proposal = to_voting(fed, users, clock)
    with pytest.raises(InvalidInputError, match=message) as caught:
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot=ballot)
    assert caught.value.field == "ballot"
    assert not Ballot.objects.exists()


OPTIONS = [{"label": "Rye"}, {"label": "Spelt"}, {"label": "Oat"}]


@pytest.mark.parametrize(
    ("shape", "extra", "good", "bad", "message"),
    [
        ("multi_option", {}, {"choice": "o1"}, {"choice": "o9"}, "unknown option 'o9'"),
        ("approval", {}, {"approve": ["o1", "o3"]}, {"approve": ["o1", "o1"]}, "listed twice"),
        (
            "ranked",
            {},
            {"ranking": [["o2"], ["o1", "o3"]]},
            {"ranking": [["o2"], ["o2"]]},
            "ranked twice",
        ),
        ("score", {}, {"scores": {"o1": 10, "o2": 3}}, {"scores": {"o1": 11}}, "0 to 10"),
        ("dot_vote", {"dots": 3}, {"dots": {"o1": 2, "o2": 1}}, {"dots": {"o1": 4}}, "has 3"),
        (
            "budget",
            {"budget": "100"},
            {"approve": ["o1"]},
            {"approve": "o1"},
            "expected a list of options",
        ),
    ],
)
def test_every_ballot_shape_is_checked_when_cast(
    fed: Federation,
    users: list[Any],
    clock: Any,
    shape: str,
    extra: dict[str, Any],
    good: dict[str, Any],
    bad: dict[str, Any],
    message: str,
) -> None:
    options = [dict(o, cost=40) for o in OPTIONS] if shape == "budget" else OPTIONS
    proposal = to_voting(fed, users, clock, ballot_shape=shape, options=options, **extra)
    with pytest.raises(InvalidInputError, match=message):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot=bad)
    actions.cast_ballot(actor=fed.member, proposal=proposal, ballot=good)
    assert Ballot.objects.get(proposal=proposal).content is not None


def test_a_consent_objection_without_reason_is_refused_when_cast(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"decision_rule.rule": "consent"},
    )
    proposal = to_voting(fed, users, clock, ballot_shape="consent")
    assert proposal.closes_at == proposal.voting_opened_at + actions._window(proposal)
    with pytest.raises(InvalidInputError, match="needs a reason"):
        actions.cast_ballot(
            actor=fed.member, proposal=proposal, ballot={"stance": "object", "reason": ""}
        )
    with pytest.raises(InvalidInputError, match="only in the consensus variant"):
        actions.cast_ballot(
            actor=fed.member, proposal=proposal, ballot={"stance": "block", "reason": "no"}
        )
    actions.cast_ballot(
        actor=fed.member, proposal=proposal, ballot={"stance": "object", "reason": "too loud"}
    )
    row = Ballot.objects.get(proposal=proposal)
    assert row.content["member"] == fed.plain_member.record_id


def test_the_api_answers_every_ballot_refusal_in_the_error_shape(
    fed: Federation, users: list[Any], clock: Any, member_api: Api, outsider_api: Api
) -> None:
    proposal = to_voting(fed, users, clock)
    path = f"/proposals/{proposal.record_id}/ballot"
    status, body = member_api.post(path, {"ballot": {"choice": "maybe"}})
    assert status == 400
    assert body["error"]["field"] == "ballot"
    assert member_api.post(path, {"ballot": {"choice": "yes"}}) == (
        201,
        {"item": proposal.record_id, "receipt": None, "secret": False},
    )
    status, body = member_api.post(path, {"ballot": {"choice": "no"}})
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert member_api.put(path, {"ballot": {"choice": "no"}})[0] == 200
    status, body = outsider_api.post(path, {"ballot": {"choice": "yes"}})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = member_api.post(path, {"choice": "yes"})
    assert status == 422
    assert body["error"]["field"] == "ballot"
    clock.shift(WINDOW)
    status, body = api_for(users[3]).post(path, {"ballot": {"choice": "yes"}})
    assert status == 409
    assert "no longer accepted" in body["error"]["message"]
    status, body = member_api.get(f"/proposals/{proposal.record_id}")
    assert body["you"] == {
        "may_vote": True,
        "voted": True,
        "ballot": {"choice": "no"},
        "weight": "1",
    }


def test_a_duplicate_the_code_missed_is_still_refused_by_the_database(
    fed: Federation, users: list[Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposal = to_voting(fed, users, clock)
    actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})

    class _Blind:
        """A query that does not see the existing ballot, as a racing request might."""

        def filter(self, **kwargs: Any) -> Any:
            return Ballot.objects.none()

        def create(self, **kwargs: Any) -> Any:
            return Ballot.objects.create(**kwargs)

    monkeypatch.setattr(actions, "Ballot", type("B", (), {"objects": _Blind()}))
    with pytest.raises(ConflictError, match="voted already"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    monkeypatch.undo()
    assert Ballot.objects.get(proposal=proposal).content == {"choice": "yes"}


@pytest.mark.django_db(transaction=True)
def test_ballots_in_flight_do_not_wait_for_each_other_and_the_close_waits_for_them(
    fed: Federation, users: list[Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: one ballot still in its transaction does not hold up another member's,
    and closing at the deadline waits for it, so an acknowledged ballot is always counted."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time")
    proposal = to_voting(fed, users, clock)
    inside, release = threading.Event(), threading.Event()
    normalise = actions._normalise

    def held(*args: Any) -> Any:
        if threading.current_thread().name == "held":
            inside.set()
            release.wait(30)
        return normalise(*args)

    monkeypatch.setattr(actions, "_normalise", held)
    answers: dict[str, Any] = {}

    def run(name: str, call: Any) -> threading.Thread:
        def body() -> None:
            try:
                answers[name] = call()
            finally:
                connection.close()

        thread = threading.Thread(target=body, name=name)
        thread.start()
        return thread

    first = run(
        "held",
        lambda: actions.cast_ballot(actor=users[0], proposal=proposal, ballot={"choice": "yes"}),
    )
    try:
        assert inside.wait(10)
        second = run(
            "other",
            lambda: actions.cast_ballot(actor=users[1], proposal=proposal, ballot={"choice": "no"}),
        )
        second.join(10)
        assert not second.is_alive(), "a ballot waited for another member's ballot"
        clock.shift(WINDOW)
        closing = run("close", lambda: actions.close_vote(proposal_id=proposal.pk))
        closing.join(1)
        assert closing.is_alive(), "the close did not wait for the ballot in flight"
    finally:
        release.set()
    first.join(10)
    closing.join(10)
    closed = answers["close"] or actions.close_vote(proposal_id=proposal.pk)
    assert closed is not None
    assert closed.ballots_counted == 2
    assert sorted(
        Ballot.objects.filter(proposal=proposal).values_list("content", flat=True), key=str
    ) == [
        {"choice": "no"},
        {"choice": "yes"},
    ]
