"""The decisions in the record: a verifier replays them and recounts every tally."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.conf import settings

from konsilo import canonical
from konsilo.governance.replay import Replay
from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions import actions, tasks
from konsilo.web.ledger.models import Entry, LongText
from konsilo.web.ledger.selectors import look_up
from konsilo.web.ledger.sequencer import sequence
from tests.personas import Federation, build_federation
from tests.web.decisions_support import START, WINDOW, bakery_voters, refresh, to_voting


def _replay(organisation: Any) -> Replay:
    texts = dict(LongText.objects.values_list("sha256", "text"))
    replay = Replay(read_text=texts.get)
    rows = Entry.objects.filter(organisation=organisation).order_by("index")
    for index, body in rows.values_list("index", "body"):
        assert index is not None, "every entry is sequenced"
        replay.apply(index, canonical.loads(bytes(body)))
    return replay


class _InOrder:
    """A stand-in for the sequencer's shuffle while the federation is built."""

    def shuffle(self, rows: list[Any]) -> None:
        return None


@pytest.mark.django_db(transaction=True)
def test_a_verifier_recounts_an_open_and_a_secret_vote_from_the_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sequencer shuffles every batch, ordinary entries too, so the two entries of
    # create_organisation may come out in either order and the replay refuses a record that
    # does not start with organisation.created; that belongs to the record, not to the
    # decisions, so the federation is built unshuffled and the votes with the real shuffle.
    monkeypatch.setattr("konsilo.web.ledger.sequencer.secrets.SystemRandom", _InOrder)
    fed = build_federation()
    monkeypatch.undo()
    users = bakery_voters(fed)
    with time_machine.travel(START, tick=False) as clock:
        open_vote = to_voting(fed, users, clock)
        for user, choice in zip(users, ["yes", "no", "yes", "yes"], strict=False):
            actions.cast_ballot(actor=user, proposal=open_vote, ballot={"choice": choice})
        actions.change_ballot(actor=users[1], proposal=open_vote, ballot={"choice": "yes"})
        actions.post_comment(actor=users[2], proposal=open_vote, text="Agreed")
        council_actions.set_policy(
            actor=fed.steward,
            organisation=fed.org,
            scope="council",
            target="bakery",
            set_values={"secrecy.ballot": "secret"},
        )
        secret = to_voting(fed, users, clock, title="A secret one")
        receipts = [
            actions.cast_ballot(actor=u, proposal=secret, ballot={"choice": c})
            for u, c in zip(users, ["yes", "no", "no", "yes", "no"], strict=False)
        ]
        actions.change_ballot(
            actor=users[0], proposal=secret, ballot={"choice": "no"}, receipt=receipts[0] or ""
        )
        clock.shift(WINDOW)
        assert tasks.close_due_votes.call() == 2
    sequence(fed.org)
    replay = _replay(fed.org)
    assert replay.counts()["decisions_recounted"] == 2
    assert refresh(open_vote).outcome == "adopted"
    assert refresh(secret).outcome == "rejected"
    # Each voter finds their secret ballot on the record's page by the receipt as shown.
    for code in receipts:
        found = look_up(fed.org, code or "")
        assert found.ok, found.reason
        assert found.kind == "code"


def test_an_open_vote_closes_while_its_ballots_wait_and_the_record_places_the_tally_after_them(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = bakery_voters(fed)
    with time_machine.travel(START, tick=False) as clock:
        proposal = to_voting(fed, users, clock)
        # A sequencer busy elsewhere: this vote's ballots still wait for their index.
        monkeypatch.setattr(settings, "KONSILO_SEQUENCE_ON_COMMIT", False, raising=False)
        monkeypatch.setattr(actions, "sequence", lambda organisation: [])
        for user in users[:4]:
            actions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": "yes"})
        clock.shift(WINDOW)
        assert tasks.close_due_votes.call() == 1
        assert Entry.objects.filter(entry_type="ballot.cast", index__isnull=True).count() == 4
        monkeypatch.undo()
    sequence(fed.org)
    tally = Entry.objects.get(entry_type="tally.recorded")
    ballots = Entry.objects.filter(entry_type="ballot.cast")
    assert tally.index is not None
    assert all(b.index is not None and b.index < tally.index for b in ballots)


def test_a_secret_vote_tally_waits_until_its_ballots_are_sequenced(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = bakery_voters(fed)
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"secrecy.ballot": "secret"},
    )
    with time_machine.travel(START, tick=False) as clock:
        proposal = to_voting(fed, users, clock)
        assert proposal.secret
        for user in users[:4]:
            actions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": "yes"})
        clock.shift(WINDOW)
        monkeypatch.setattr(actions, "sequence", lambda organisation: [])
        assert tasks.close_due_votes.call() == 0
        assert refresh(proposal).phase == "voting"
        assert not Entry.objects.filter(entry_type="tally.recorded").exists()
        monkeypatch.undo()
        assert tasks.close_due_votes.call() == 1
    tally = Entry.objects.get(entry_type="tally.recorded")
    ballots = Entry.objects.filter(entry_type="ballot.cast")
    assert all(b.index is not None for b in ballots)
    assert tally.index is None  # in a batch of its own, after them


def test_a_changed_open_ballot_comes_after_the_one_it_replaces(fed: Federation) -> None:
    users = bakery_voters(fed)
    with time_machine.travel(START, tick=False) as clock:
        proposal = to_voting(fed, users, clock)
        opened = Entry.objects.get(entry_type="vote.opened")
        assert opened.index is not None  # sequenced with the opening, before any ballot
        actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
        actions.change_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "yes"})
        # Cast and changed again before any sequencing: one batch keeps the written order.
        actions.change_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    sequence(fed.org)
    first, second, third = Entry.objects.filter(entry_type="ballot.cast").order_by("pk")
    assert opened.index < first.index < second.index < third.index
    assert '"choice":"no"' in third.data
