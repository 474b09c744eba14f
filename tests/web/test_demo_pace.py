"""The demo's history is dated in the weeks before it loads, whatever the machine's pace.

Its completed cycle runs on the demo's own clock (`demo._Clock`), set back by weeks and moved
on where the councils wait, so the councils' normal windows apply and a slow machine cannot
close a vote on its last demo voters. Here every ballot is slowed, as on a machine whose load
grows while the demo loads.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from konsilo.web import demo
from konsilo.web.decisions.models import Ballot, Proposal, SecretBallot
from konsilo.web.federation.models import Sending
from konsilo.web.ledger.models import Entry

REAL_NOW = timezone.now


@pytest.fixture(scope="module")
def slowed(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    # Loaded once for the module, outside the tests' transactions (the demo's actions are
    # durable), as tests/web/test_federation_demo.py does.
    cast = demo.decisions.cast_ballot

    def slow_cast_ballot(**kw: Any) -> Any:
        time.sleep(0.02)
        return cast(**kw)

    same = override_settings(
        DATA_DIR=tmp_path_factory.getbasetemp() / "data",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with pytest.MonkeyPatch.context() as patch, same, django_db_blocker.unblock():
        patch.setattr(demo.decisions, "cast_ballot", slow_cast_ballot)
        started = timezone.now()
        try:
            yield started, demo.load_demo(), timezone.now()
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.mark.django_db
def test_the_demo_history_lies_in_the_weeks_before_it_loaded(slowed: Any) -> None:
    started, _, ended = slowed
    # The real clock is back: it has moved on by the seconds the demo took, no more.
    assert timezone.now is REAL_NOW
    assert dt.timedelta(0) < ended - started < dt.timedelta(minutes=10)
    entries = Entry.objects.order_by("index").exclude(index=None)
    first = entries.first()
    assert first is not None
    assert first.entry_type == "organisation.created"
    assert started - demo.HISTORY <= first.recorded_at < started - demo.HISTORY + (ended - started)
    assert max(entries.values_list("recorded_at", flat=True)) <= ended
    done, open_item = Sending.objects.order_by("sent_at")
    # The completed cycle took the councils' normal windows: weeks, not seconds.
    top = Proposal.objects.get(pk=done.proposal_id)
    assert top.closed_at is not None
    assert top.closed_at - done.sent_at > dt.timedelta(days=7)
    assert top.closed_at < started
    # The second item was sent an hour before the demo loaded; its workplaces vote now.
    assert started - demo.SECOND_ITEM_SENT <= open_item.sent_at <= ended
    for instruction in open_item.instructions.filter(base_proposal__council__key="bookshop"):
        vote = instruction.base_proposal
        assert vote.phase == Proposal.Phase.VOTING
        assert vote.voting_opened_at is not None
        assert vote.voting_opened_at <= ended
        assert vote.closes_at is not None
        assert vote.closes_at > ended + dt.timedelta(days=7)


@pytest.mark.django_db
def test_a_slow_machine_counts_every_demo_ballot(slowed: Any) -> None:
    votes = Proposal.objects.filter(
        council__key__in=list(demo._INSTRUCTIONS),
        instruction__sending__proposal__title="A federation-wide solidarity fund",
    )
    assert votes.count() == len(demo._INSTRUCTIONS)
    assert {v.phase for v in votes} == {Proposal.Phase.CLOSED}
    counted = Ballot.objects.filter(proposal__in=votes).count()
    counted += SecretBallot.objects.filter(proposal__in=votes).count()
    assert counted == sum(sum(tally) for tally in demo._INSTRUCTIONS.values())
    congress = Proposal.objects.get(
        council__key="congress", title="A federation-wide solidarity fund"
    )
    assert congress.outcome == "adopted"


def test_the_demo_clock_never_runs_ahead_of_the_real_one() -> None:
    real = REAL_NOW
    with demo._Clock(behind=dt.timedelta(hours=1)) as clock:
        assert timezone.now is not real
        assert real() - timezone.now() >= dt.timedelta(minutes=59)
        clock.wait_until(timezone.now() + dt.timedelta(minutes=30))
        assert dt.timedelta(minutes=29) <= real() - timezone.now() <= dt.timedelta(minutes=31)
        behind = clock.behind
        clock.wait_until(timezone.now() - dt.timedelta(days=1))  # the past: nothing to wait
        assert clock.behind == behind
        with pytest.raises(RuntimeError, match="past the real time"):
            clock.wait_until(real() + dt.timedelta(minutes=1))
    assert timezone.now is real
