"""A member of two bases has one weight per decision root (domain rules §3.4).

The North region's item goes to the Bakery (6 members) and the Press (3 members). A Bakery
worker who is also a member of the Press votes in both; on this item their Press ballot is
recorded with weight 0, because their weight reaches North through their primary base, the
Bakery. A Dairy worker (South) who is also in the Press has no other path to North, so they
count in the Press in full.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.web.councils import actions as council_actions
from konsilo.web.councils.models import Member
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Ballot, Proposal, VoterRoll
from konsilo.web.federation import selectors
from konsilo.web.federation.models import DelegationVote, Instruction
from konsilo.web.ledger.models import Entry
from tests.personas import Federation, build_federation
from tests.web.federation_support import (
    DEADLINE,
    HIGHER_CLOSES,
    START,
    instruction_item,
    north_item,
    open_bases,
    refresh,
    send,
    set_policy,
    users_of,
    vote,
)


def _member(email: str) -> Member:
    return Member.objects.get(email=email)


def _second_base(fed: Federation, email: str, base: str) -> Member:
    member = _member(email)
    council_actions.add_membership(actor=fed.steward, member=member, council_key=base)
    return member


def _ballots(proposal: Proposal) -> list[dict[str, Any]]:
    return [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=proposal.organisation, entry_type="ballot.cast")
        .order_by("pk")
        .iterator()
        if canonical.loads(e.data)["item"] == proposal.record_id
    ]


def _proportional(fed: Federation) -> None:
    set_policy(
        fed,
        "organisation",
        "",
        {"mandate.mode": "bound_proportional", "structure.vote_weight": "represented_members"},
    )


def _cycle(fed: Federation, clock: Any) -> tuple[Proposal, Any]:
    """Bakery 4 yes to 2 no (the dual member, bakery5, says no); the Press 2 yes to 1 no
    among its own members, and bakery5 says no there too."""
    _proportional(fed)
    _second_base(fed, "bakery5@example.org", "press")
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    bakers = users_of("bakery", fed)
    assert [u.email for u in bakers][-1] == "bakery5@example.org"
    vote(instruction_item(sending, "bakery"), bakers, ["yes"] * 4 + ["no"] * 2)
    press = users_of("press", fed)
    assert sorted(u.email for u in press) == [
        "bakery5@example.org",
        "press0@example.org",
        "press1@example.org",
        "press2@example.org",
    ]
    by_email = {u.email: u for u in press}
    for email, choice in [
        ("press0@example.org", "yes"),
        ("press1@example.org", "yes"),
        ("press2@example.org", "no"),
        ("bakery5@example.org", "no"),
    ]:
        vote(instruction_item(sending, "press"), [by_email[email]], [choice])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return item, sending


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_member_of_two_bases_counts_once_through_the_primary_base(
    fed: Federation, clock: Any
) -> None:
    item, sending = _cycle(fed, clock)
    dual = _member("bakery5@example.org")
    press = refresh(instruction_item(sending, "press"))
    bakery = refresh(instruction_item(sending, "bakery"))
    # The census frozen when the Press's vote opened: the dual member with weight 0.
    assert press.census["weights"][dual.record_id] == "0"
    assert press.census["total_weight"] == "3"
    assert bakery.census["weights"][dual.record_id] == "1"
    assert VoterRoll.objects.get(proposal=press, member=dual).weight == "0"
    # Their Press ballot is recorded, with weight 0, and counts for nothing upward.
    assert Ballot.objects.get(proposal=press, member=dual).weight == "0"
    assert [b["weight"] for b in _ballots(press) if b["voter"] == dual.record_id] == ["0"]
    result = json.loads(press.result)
    assert result["rounds"][0]["tallies"] == {"abstain": "0", "no": "1", "yes": "2"}
    assert press.ballots_counted == 3
    # Bound proportional: the Press's 3 represented members split 2 yes to 1 no.
    mandates = {i.key: i.mandate for i in Instruction.objects.all()}
    press_votes = mandates["press->north"]["votes"]
    assert sorted((v["ballot"]["choice"], v["weight"]) for v in press_votes) == [
        ("no", "1"),
        ("yes", "2"),
    ]
    cast = sorted((v.key, v.ballot["choice"], v.weight) for v in DelegationVote.objects.all())
    assert cast == [
        ("bakery->north", "no", "2"),
        ("bakery->north", "yes", "4"),
        ("press->north", "no", "1"),
        ("press->north", "yes", "2"),
    ]
    # Member-level support: 9 members, each counted once.
    state = selectors.federated_item(item)
    assert state is not None
    assert state.members is not None
    members = state.members
    assert (members.count("yes"), members.count("no")) == (Fraction(6), Fraction(3))
    assert (members.voted, members.eligible) == (9, 9)
    clock.move_to(HIGHER_CLOSES)
    assert tasks.close_due_votes.call() == 1
    higher = json.loads(refresh(item).result)
    assert higher["rounds"][0]["tallies"] == {"abstain": "0", "no": "3", "yes": "6"}


def test_the_page_and_the_api_mark_a_ballot_that_carries_no_weight_up(
    fed: Federation, clock: Any
) -> None:
    _, sending = _cycle(fed, clock)
    press = instruction_item(sending, "press")
    dual = next(u for u in users_of("press", fed) if u.email == "bakery5@example.org")
    client = Client()
    client.force_login(dual)
    body = client.get(f"/api/v1/proposals/{press.record_id}").json()
    assert body["you"]["weight"] == "0"
    assert body["result"]["weightless"] == 1
    page = client.get(f"/p/{press.record_id}/").content.decode()
    assert "1 ballot with weight 0" in page
    assert "Your ballot here is recorded with weight 0" in page


def test_a_member_whose_bases_meet_only_above_the_item_counts_in_both(
    fed: Federation, clock: Any
) -> None:
    """The Dairy sends to South, not North: for North's item the Press is this member's only
    path, so they count there in full (and the Press still represents only its own 3)."""
    _proportional(fed)
    dual = _second_base(fed, "dairy0@example.org", "press")
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    press = refresh(instruction_item(sending, "press"))
    assert press.census["weights"][dual.record_id] == "1"
    assert press.census["total_weight"] == "4"
    assert Instruction.objects.get(key="press->north").weight == "3"
    users = {u.email: u for u in users_of("press", fed)}
    vote(press, [users["dairy0@example.org"], users["press0@example.org"]], ["yes", "no"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    result = json.loads(refresh(press).result)
    assert result["rounds"][0]["tallies"] == {"abstain": "0", "no": "1", "yes": "1"}


@pytest.mark.django_db(transaction=True)
def test_an_exported_cycle_with_a_member_of_two_bases_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        item, _ = _cycle(fed, clock)
        clock.move_to(HIGHER_CLOSES)
        assert tasks.close_due_votes.call() == 1
    assert refresh(item).outcome == "adopted"
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["decisions_recounted"] == 3
    assert summary["mandates_rederived"] == 2


def test_in_a_secret_instruction_vote_the_ballot_of_weight_0_is_counted_for_nothing(
    fed: Federation, clock: Any
) -> None:
    from konsilo.web.decisions.models import SecretBallot

    set_policy(fed, "council", "press", {"secrecy.ballot": "secret"})
    _, sending = _cycle(fed, clock)
    press = refresh(instruction_item(sending, "press"))
    assert press.secret
    assert sorted(SecretBallot.objects.filter(proposal=press).values_list("weight", flat=True)) == [
        "0",
        "1",
        "1",
        "1",
    ]
    assert json.loads(press.result)["rounds"][0]["tallies"] == {
        "abstain": "0",
        "no": "1",
        "yes": "2",
    }
    [tally] = [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=fed.org, entry_type="tally.recorded")
        if canonical.loads(e.data)["item"] == press.record_id
    ]
    assert (tally["ballots"], tally["weightless"]) == (3, 1)
    assert sorted(b["weight"] for b in _ballots(press)) == ["0", "1", "1", "1"]


def test_bases_open_together_and_one_left_without_voters_is_withdrawn_alone(
    fed: Federation,
) -> None:
    with time_machine.travel(START, tick=False) as clock:
        sending = send(fed, north_item(fed))
        for member in Member.objects.filter(memberships__council__key="press"):
            council_actions.set_member_status(actor=fed.steward, member=member, status="left")

        assert open_bases(clock) == 2

        bakery, press = (refresh(instruction_item(sending, b)) for b in ("bakery", "press"))
        assert bakery.phase == "voting"
        assert bakery.census is not None
        assert bakery.census["voters"] == 6
        assert VoterRoll.objects.filter(proposal=bakery).count() == 6
        assert press.phase == "withdrawn"
        assert "has nobody who may vote" in press.withdrawn_reason
        assert not VoterRoll.objects.filter(proposal=press).exists()
        opened = [
            canonical.loads(e.data)["item"]
            for e in Entry.objects.filter(organisation=fed.org, entry_type="vote.opened")
        ]
        assert bakery.record_id in opened
        assert press.record_id not in opened
        withdrawn = Entry.objects.get(organisation=fed.org, entry_type="proposal.withdrawn")
        assert canonical.loads(withdrawn.data)["item"] == press.record_id
        assert open_bases(clock) == 0  # run again: nothing left to open
