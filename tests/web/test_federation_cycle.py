"""A federation cycle through the database: sending, instruction votes, mandates, the
higher vote, the closing task driving it all with the clock, and the record verified."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine

from konsilo.cli.main import main
from konsilo.web.decisions import tasks
from konsilo.web.decisions.actions import file_minority_report
from konsilo.web.decisions.models import TextVersion
from konsilo.web.errors import InvalidInputError
from konsilo.web.federation.actions import delegate_cast
from konsilo.web.federation.models import DelegationVote, Instruction
from tests.personas import Federation, build_federation
from tests.web.federation_support import (
    BASES_OPEN,
    DEADLINE,
    HIGHER_CLOSES,
    OPENS,
    START,
    entries,
    instruction_item,
    north_item,
    open_bases,
    refresh,
    send,
    set_policy,
    users_of,
    vote,
)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_sending_opens_an_instruction_vote_on_the_same_text_in_every_base_below(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    sending = send(fed, item)
    digest = TextVersion.objects.get(proposal=item).sha256
    bases = {i.delegation.from_council.key: i.base_proposal for i in sending.instructions.all()}
    assert sorted(bases) == ["bakery", "press"]
    # Their votes open at the scheduled opening, one vote window before the deadline.
    for base in bases.values():
        assert (base.phase, base.decision_type, base.closes_at) == (
            "discussion",
            "instruction",
            DEADLINE,
        )
    assert open_bases(clock, BASES_OPEN - dt.timedelta(seconds=1)) == 0
    assert open_bases(clock) == 2
    for opened in map(refresh, bases.values()):
        assert (opened.phase, opened.voting_opened_at, opened.closes_at) == (
            "voting",
            BASES_OPEN,
            DEADLINE,
        )
        assert opened.versions.get().sha256 == digest
    higher = refresh(item)
    assert (higher.phase, higher.voting_opened_at, higher.closes_at) == (
        "voting",
        OPENS,
        HIGHER_CLOSES,
    )
    assert higher.census["weights"] == {"bakery->north": "1", "press->north": "1"}
    opened = {d["item"]: d for d in entries(fed, "vote.opened")}
    assert opened[higher.record_id]["sent_to"] == {
        "bakery->north": bases["bakery"].record_id,
        "press->north": bases["press"].record_id,
    }
    assert opened[bases["press"].record_id]["instruction_of"] == higher.record_id
    assert opened[bases["press"].record_id]["texts"] == {bases["press"].record_id: digest}


def test_sending_is_refused_when_a_base_would_get_less_than_its_deliberation_window(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    with pytest.raises(InvalidInputError) as refused:
        send(fed, item, opens_at=START + dt.timedelta(days=10))
    message = str(refused.value)
    assert "bakery (workplace)" in message
    assert "press (workplace)" in message
    assert "5 days short" in message
    assert refused.value.code == "too_little_time"
    assert refresh(item).phase == "discussion"
    assert not Instruction.objects.exists()


def test_the_closing_task_derives_bound_majority_mandates_and_casts_them(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 4 + ["no"])
    vote(instruction_item(sending, "press"), users_of("press", fed), ["no", "no", "yes"])
    clock.move_to(DEADLINE)
    assert tasks.close_due_votes.call() == 2
    mandates = {m["delegation"]: m for m in entries(fed, "mandate.derived")}
    assert mandates["bakery->north"]["mandate"]["status"] == "instructed"
    assert mandates["bakery->north"]["base_vote"]["ballots"] == [
        {"ballot": {"choice": "no"}, "weight": "1"},
        {"ballot": {"choice": "yes"}, "weight": "4"},
    ]
    cast = {(v.key, v.ballot["choice"], v.weight, v.cast_by) for v in DelegationVote.objects.all()}
    assert cast == {("bakery->north", "yes", "1", "system"), ("press->north", "no", "1", "system")}
    assert len(entries(fed, "delegation.voted")) == 2
    assert tasks.close_due_votes.call() == 0  # nothing derived or cast twice
    assert DelegationVote.objects.count() == 2
    clock.move_to(HIGHER_CLOSES)
    assert tasks.close_due_votes.call() == 1
    higher = refresh(item)
    result = json.loads(higher.result)
    assert higher.ballots_counted == 2
    assert result["rounds"][0]["tallies"] == {"abstain": "0", "no": "1", "yes": "1"}
    assert higher.outcome == "rejected"  # a tie fails under the region's tie rule


def test_a_tied_bound_majority_base_gives_no_instruction_not_a_no(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 3 + ["no"] * 3)
    vote(instruction_item(sending, "press"), users_of("press", fed), ["yes", "yes"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    bakery = Instruction.objects.get(key="bakery->north").mandate
    assert (bakery["status"], bakery["reason"]) == ("no_instruction", "tie")
    assert [v["ballot"]["choice"] for v in bakery["votes"]] == ["abstain"]
    cast = {v.key: v.ballot["choice"] for v in DelegationVote.objects.all()}
    assert cast["bakery->north"] == "abstain"
    assert cast["press->north"] == "yes"


@pytest.mark.django_db(transaction=True)
def test_an_exported_federation_cycle_verifies_recounting_and_rederiving_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        # The Bakery's delegate casts and breaches the mandate; the Press's vote is cast by
        # the platform, and a Press member who did not prevail files a minority report.
        set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
        item = north_item(fed)
        sending = send(fed, item)
        open_bases(clock)
        vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 5 + ["no"])
        press = instruction_item(sending, "press")
        pressers = users_of("press", fed)
        vote(press, pressers, ["no", "no", "yes"])
        clock.move_to(DEADLINE)
        tasks.close_due_votes.call()
        file_minority_report(actor=pressers[2], proposal=press, text="We need the van.")
        clock.move_to(OPENS)
        assert delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
        )
        clock.move_to(HIGHER_CLOSES)
        assert tasks.close_due_votes.call() == 1
    assert refresh(item).ballots_counted == 1
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["decisions_recounted"] == 3
    assert summary["mandates_rederived"] == 2


def test_the_delegations_vote_openly_even_where_the_higher_council_votes_in_secret(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "north", {"secrecy.ballot": "secret"})
    item = north_item(fed)
    assert item.secret
    send(fed, item)
    assert not refresh(item).secret
    opened = {d["item"]: d for d in entries(fed, "vote.opened")}
    assert opened[item.record_id]["secret"] is False
