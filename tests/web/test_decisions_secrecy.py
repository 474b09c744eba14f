"""Secret ballots: receipts, changes by receipt, and nothing in tables or record links a voter."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection, models

from konsilo import canonical
from konsilo.web.councils import actions as council_actions
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions, selectors, tasks
from konsilo.web.decisions.models import Participation, SecretBallot
from konsilo.web.errors import ConflictError, InvalidInputError
from konsilo.web.ledger.models import Entry
from konsilo.web.ledger.sequencer import sequence
from tests.personas import Api, Federation
from tests.web.decisions_support import START, WINDOW, api_for, bakery_voters, refresh, to_voting


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def users(fed: Federation) -> list[Any]:
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"secrecy.ballot": "secret"},
    )
    return bakery_voters(fed)


CHOICES = ["yes", "no", "yes", "abstain", "yes", "no"]


def _vote_all(proposal: Any, users: list[Any]) -> list[str]:
    return [
        actions.cast_ballot(actor=u, proposal=proposal, ballot={"choice": c}) or ""
        for u, c in zip(users, CHOICES, strict=True)
    ]


def test_a_secret_ballot_gives_a_receipt_and_stores_only_its_hash(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    assert proposal.secret
    receipt = actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    assert receipt is not None
    assert len(receipt.replace("-", "")) == 24
    row = SecretBallot.objects.get(proposal=proposal)
    assert row.receipt_sha256 == hashlib.sha256(receipt.encode()).hexdigest()
    assert receipt not in str(list(SecretBallot.objects.values()))
    assert Participation.objects.filter(proposal=proposal, member=fed.plain_member).exists()


def test_a_secret_ballot_is_changed_with_its_receipt_only(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    receipt = actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    assert receipt is not None
    with pytest.raises(ConflictError, match="enter your receipt"):
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
    with pytest.raises(InvalidInputError, match="no ballot on this item has this receipt"):
        actions.change_ballot(
            actor=fed.member, proposal=proposal, ballot={"choice": "yes"}, receipt="WRONG-CODE"
        )
    actions.change_ballot(
        actor=fed.member,
        proposal=proposal,
        ballot={"choice": "yes"},
        receipt=receipt.lower().replace("-", " "),
    )
    assert SecretBallot.objects.get(proposal=proposal).content == {"choice": "yes"}
    with pytest.raises(ConflictError, match="not voted yet"):
        actions.change_ballot(
            actor=fed.delegate, proposal=proposal, ballot={"choice": "no"}, receipt=receipt
        )


def test_a_census_with_unequal_weights_cannot_hold_a_secret_vote(
    fed: Federation, users: list[Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fractions import Fraction

    real = actions._census

    def weighted(proposal: Any, on: Any) -> Any:
        basis, voters = real(proposal, on)
        return basis, [
            (pk, record_id, Fraction(2) if i == 0 else w)
            for i, (pk, record_id, w) in enumerate(voters)
        ]

    monkeypatch.setattr(actions, "_census", weighted)
    with pytest.raises(ConflictError, match="equal weights"):
        to_voting(fed, users, clock)


def test_secrecy_nothing_in_tables_or_record_links_a_secret_ballot_to_its_member(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    receipts = _vote_all(proposal, users)
    secret_types = ("ballot.cast", "ballot.participated")

    def pending() -> list[Entry]:
        return list(
            Entry.objects.filter(
                organisation=fed.org, entry_type__in=secret_types, index__isnull=True
            )
        )

    # While the vote runs the record learns who took part, never how: no ballot entry yet.
    assert [e.entry_type for e in pending()] == ["ballot.participated"] * 6
    participated = pending()
    assert all((e.actor, e.recorded_at) == ("", None) for e in participated)
    sequence(fed.org)
    clock.shift(WINDOW)
    assert tasks.close_due_votes.call() == 1
    cast_pending = pending()
    for entry in participated:
        entry.refresh_from_db()

    # The tables: the ballot row has no member, no time and a random id; the participation
    # row has the member and nothing else but the item.
    def shape(model: type[models.Model]) -> dict[str, str]:
        return {f.name: type(f).__name__ for f in model._meta.concrete_fields}

    assert shape(SecretBallot) == {
        "id": "UUIDField",
        "proposal": "ForeignKey",
        "receipt_sha256": "CharField",
        "content": "JSONField",
        "weight": "CharField",
    }
    assert shape(Participation) == {
        "id": "UUIDField",
        "proposal": "ForeignKey",
        "member": "ForeignKey",
    }
    ballots = list(SecretBallot.objects.filter(proposal=proposal).values())
    takers = list(Participation.objects.filter(proposal=proposal).values())
    assert len(ballots) == len(takers) == 6
    assert all(uuid.UUID(str(b["id"])).version == 4 for b in ballots)
    assert all(uuid.UUID(str(p["id"])).version == 4 for p in takers)
    member_ids = {p["member_id"] for p in takers}
    members = Member.objects.filter(pk__in=member_ids)
    names = {str(m.pk) for m in members} | {m.record_id for m in members}
    names |= {str(m.public_id) for m in members} | {str(p["id"]) for p in takers}
    for ballot in ballots:
        # The weight is the same for all, so only id, receipt and content could name anyone.
        values = {
            str(ballot["id"]),
            ballot["receipt_sha256"],
            canonical.dumps_str(ballot["content"]),
        }
        assert not values & names
        assert not any(name in value for name in names if len(name) > 8 for value in values)
    assert {b["weight"] for b in ballots} == {"1"}  # equal weights: a weight names nobody
    if connection.vendor == "sqlite":
        # Rows are stored in the order of their random keys, not in the order of casting.
        with connection.cursor() as cursor:
            for table in ("decisions_secretballot", "decisions_participation"):
                cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [table])
                assert cursor.fetchone()[0].rstrip().endswith("WITHOUT ROWID")

    # The record's rows: no actor and random keys; the closing sequenced the ballots.
    assert cast_pending == []
    cast_rows = list(Entry.objects.filter(organisation=fed.org, entry_type="ballot.cast"))
    assert len(cast_rows) == 6
    for entry in participated + cast_rows:
        assert entry.actor == ""
        assert entry.pk < 0
    ordinary = Entry.objects.filter(organisation=fed.org).exclude(entry_type__in=secret_types)
    assert all(e.pk > 0 for e in ordinary)

    # The record after sequencing: ballots carry the receipt's hash and never a member;
    # every ballot has the same time, none of them a participation's time.
    sequence(fed.org)
    cast = [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=fed.org, entry_type="ballot.cast")
    ]
    joined = [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=fed.org, entry_type="ballot.participated")
    ]
    assert all(set(c) == {"item", "receipt", "weight", "ballot"} for c in cast)
    assert all(set(p) == {"item", "member"} for p in joined)
    records = {m.record_id for m in members}
    assert {p["member"] for p in joined} == records
    assert all(not any(r in canonical.dumps_str(c) for r in records) for c in cast)
    times: dict[str, set[Any]] = {"ballot.cast": set(), "ballot.participated": set()}
    for e in Entry.objects.filter(organisation=fed.org, entry_type__in=secret_types):
        times[e.entry_type].add(e.recorded_at)
    assert len(times["ballot.cast"]) == 1
    assert not times["ballot.cast"] & times["ballot.participated"]
    # The tally comes after every ballot it counts, in a later batch.
    tally = Entry.objects.get(organisation=fed.org, entry_type="tally.recorded")
    assert tally.index is not None
    assert all(e.index is not None and e.index < tally.index for e in cast_rows)

    # Each member finds their own ballot in the record by the hash of their receipt.
    by_receipt = {c["receipt"]: c["ballot"] for c in cast}
    for code, choice in zip(receipts, CHOICES, strict=True):
        assert by_receipt[actions.receipt_hash(code)] == {"choice": choice}
    assert refresh(proposal).outcome == "adopted"


def test_a_small_secret_vote_shows_only_its_outcome(
    fed: Federation, users: list[Any], clock: Any, member_api: Api, outsider_api: Api
) -> None:
    proposal = to_voting(fed, users, clock)
    for user, choice in zip(users[:3], ["yes", "yes", "no"], strict=True):
        actions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": choice})
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    shown = selectors.disclosure(refresh(proposal))
    assert shown is not None
    assert shown["disclosed"] is False
    assert shown["outcome"] == "adopted"
    assert shown["rounds"] == []
    assert "2" not in shown["summary"].split("Fewer")[0]
    for api in (member_api, outsider_api):
        status, body = api.get(f"/proposals/{proposal.record_id}/result")
        assert status == 200
        assert body["disclosed"] is False
        assert "tallies" not in str(body)
    # The exact tally still goes to the record, where a verifier recounts it.
    tally = Entry.objects.get(organisation=fed.org, entry_type="tally.recorded")
    assert '"yes":"2"' in tally.data


def test_a_large_enough_secret_vote_shows_its_tallies(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    _vote_all(proposal, users)
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    status, body = api_for(fed.member).get(f"/proposals/{proposal.record_id}/result")
    assert status == 200
    assert body["disclosed"] is True
    assert body["rounds"][0]["tallies"] == {"yes": "3", "no": "2", "abstain": "1"}
