"""The demo runs one completed federation-wide cycle, from the congress to every workplace,
and leaves one congress item open for voting in every workplace.

The demo loads once for the module (its cycle runs on the real clock, in seconds); the tests
read what it left.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from konsilo.cli.main import main
from konsilo.web import demo
from konsilo.web.decisions.models import Proposal
from konsilo.web.federation import selectors
from konsilo.web.federation.models import DelegationVote, Instruction, Sending
from konsilo.web.ledger.models import Entry

EVERY_COUNCIL_BELOW = {*demo.WORKPLACES, *demo.REGIONS}


@pytest.fixture(scope="module")
def loaded(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    # The settings the tests' own fixtures give (tests/conftest.py), from before the demo
    # loads: the record's key in the same data directory, the same password hasher.
    same = override_settings(
        DATA_DIR=tmp_path_factory.getbasetemp() / "data",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with same, django_db_blocker.unblock():
        yield demo.load_demo()
        call_command("flush", interactive=False, verbosity=0)


def _sendings() -> tuple[Sending, Sending]:
    done, open_item = Sending.objects.order_by("sent_at")
    return done, open_item


@pytest.mark.django_db
def test_the_demo_congress_item_reached_every_workplace_and_region(loaded: Any) -> None:
    done, open_item = _sendings()
    assert done.proposal.council.key == open_item.proposal.council.key == "congress"
    for sending in (done, open_item):
        rows = sending.instructions.select_related("base_proposal__council", "higher__council")
        assert {i.base_proposal.council.key for i in rows} == EVERY_COUNCIL_BELOW
        digest = sending.proposal.versions.get().sha256
        assert {i.base_proposal.versions.get().sha256 for i in rows} == {digest}
        for i in rows:
            above = i.higher.council.key
            lower = i.base_proposal.council.key
            assert above == ("congress" if lower in demo.REGIONS else _region_of(lower))


def _region_of(workplace: str) -> str:
    return next(r for r, (_, places) in demo.REGIONS.items() if workplace in places)


@pytest.mark.django_db
def test_the_demo_cycle_completed_with_open_and_secret_ballots_and_mandates_at_every_level(
    loaded: Any,
) -> None:
    done, _ = _sendings()
    instructions = list(done.instructions.select_related("base_proposal__council"))
    assert all(i.base_proposal.phase == "closed" for i in instructions)
    assert all(i.mandate is not None and i.mandate["status"] == "instructed" for i in instructions)
    secret = {i.base_proposal.council.key for i in instructions if i.base_proposal.secret}
    assert secret == set(demo._SECRET)
    # Every mandate was cast by the platform in the council above: the workplaces' in the
    # regions' votes, the regions' in the congress's.
    cast = DelegationVote.objects.filter(
        proposal__in=[done.proposal, *(i.base_proposal for i in instructions)]
    )
    assert {v.key.split("->")[0] for v in cast} == EVERY_COUNCIL_BELOW
    assert {v.cast_by for v in cast} == {"system"}
    # Each workplace's ballots, as the demo cast them (bound majority: its whole weight).
    for key, (yes, no, abstain) in demo._INSTRUCTIONS.items():
        base = next(i for i in instructions if i.base_proposal.council.key == key)
        item = base.base_proposal
        cast_here = item.secret_ballots.count() if item.secret else item.ballots.count()
        assert cast_here == yes + no + abstain, key
        choices = {v.ballot["choice"] for v in cast if v.key.startswith(f"{key}->")}
        assert choices == {"yes" if yes > no else "no"}, key


@pytest.mark.django_db
def test_the_demo_congress_result_shows_member_level_support_and_a_minority_report(
    loaded: Any,
) -> None:
    done, _ = _sendings()
    item = Proposal.objects.get(pk=done.proposal.pk)
    assert item.phase == "closed"
    state: Any = selectors.federated_item(item)
    assert state.members is not None
    yes = sum(t[0] for t in demo._INSTRUCTIONS.values())
    no = sum(t[1] for t in demo._INSTRUCTIONS.values())
    assert (state.members.count("yes"), state.members.count("no")) == (yes, no) == (86, 64)
    assert item.outcome == "adopted"
    # The regions' member-level support too (every result above the first level shows it).
    assert set(state.councils) >= {"congress", *demo.REGIONS}
    north = {r.lower: r for r in state.delegations}["north"]
    assert [r.council for r in north.reports] == ["bakery-north"]
    # The platform casts the region's vote, split as its workplaces' tallies pass it up.
    assert {v.cast_by for v in north.votes} == {"system"}
    assert sum(Fraction(v.weight) for v in north.votes) == Fraction(north.weight)
    assert Fraction(north.weight) > 0


@pytest.mark.django_db
def test_the_demo_leaves_the_second_congress_item_open_for_every_workplace(
    loaded: Any,
) -> None:
    _, open_item = _sendings()
    assert open_item.proposal.phase == "voting"
    phases = {
        i.base_proposal.council.key: i.base_proposal.phase
        for i in Instruction.objects.filter(sending=open_item).select_related(
            "base_proposal__council"
        )
    }
    assert set(phases.values()) == {"voting"}
    # The demo member can vote on it at once, through the page.
    base = Instruction.objects.get(
        sending=open_item, base_proposal__council__key="bakery-north"
    ).base_proposal
    client = Client()
    assert client.login(username="member", password=demo.PASSWORDS["member"])
    page = client.get(f"/p/{base.record_id}/")
    assert page.status_code == 200
    assert "Cast my ballot" in page.content.decode()
    voted = client.post(f"/p/{base.record_id}/vote/", {"choice": "yes"})
    assert voted.status_code in (200, 302)
    assert base.ballots.count() == 1


@pytest.mark.django_db
def test_the_demo_pages_show_no_opening_dates_that_contradict_the_completed_cycle(
    loaded: Any,
) -> None:
    done, _ = _sendings()
    client = Client()
    assert client.login(username="delegate", password=demo.PASSWORDS["delegate"])
    items = [done.proposal, *(i.base_proposal for i in done.instructions.all())]
    for item in items:
        page = client.get(f"/p/{item.record_id}/").content.decode()
        assert "voting may open from" not in page, item.council.key
        assert "The vote has closed" not in page  # counted, not waiting
    top = client.get(f"/p/{done.proposal.record_id}/").content.decode()
    assert "Member-level support" in top
    assert "Minority report from bakery-north" in top


@pytest.mark.django_db
def test_the_demo_export_verifies_every_decision_and_mandate(
    loaded: Any, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "export"
    assert main(["export", demo.SLUG, "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(summary)[:3000]
    # 12 workplaces, 4 regions and the congress recounted; 16 mandates re-derived.
    assert summary["mandates_rederived"] == len(EVERY_COUNCIL_BELOW)
    assert summary["decisions_recounted"] >= len(EVERY_COUNCIL_BELOW) + 1
    assert Entry.objects.filter(entry_type="mandate.derived").count() == 16
    # Every vote's census re-derived: the workplaces' from their memberships, the regions'
    # and the congress's (votes of delegations, opened in the sending before the congress's)
    # from the members each delegation represents, passed through to the congress.
    assert (
        summary["vote_censuses_rederived"] == Entry.objects.filter(entry_type="vote.opened").count()
    )
