"""Amendments at the higher council that the mandates do not cover (domain-rules §3.10):
the delegations' steps (postponement, abstention, discretion), the postponed vote re-sent
to the bases, the settled vote under both enforcement modes, and the record verified."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.governance.replay import Replay, ReplayError
from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Proposal, TextVersion
from konsilo.web.errors import ConflictError, PermissionDeniedError
from konsilo.web.federation import actions, selectors
from konsilo.web.federation.models import (
    Breach,
    DelegationVote,
    Instruction,
    PostponementRequest,
    Sending,
)
from tests.personas import Api, Federation, build_federation
from tests.web.federation_support import (
    DEADLINE,
    HIGHER_CLOSES,
    OPENS,
    START,
    TEXT,
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

AMENDED = "The region funds a shared delivery van for its bases, and insures it."
# After the bases' mandates are derived, before the higher vote opens.
AMENDS_AT = DEADLINE + dt.timedelta(hours=1)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _steps(fed: Federation, base: str, *steps: str) -> None:
    set_policy(fed, "council", base, {"mandate.out_of_mandate_amendment": list(steps)})


def _grow(fed: Federation, base: str, more: int) -> None:
    """Add ``more`` members to ``base`` (before the item is sent)."""
    for n in range(more):
        council_actions.add_member(
            actor=fed.steward,
            organisation=fed.org,
            name=f"New {base.title()} Worker {n}",
            email=f"new-{base}{n}@example.org",
            base=base,
        )


def _instructed(fed: Federation, clock: Any) -> Proposal:
    """North sends the van; the Bakery instructs yes, the Press no; the mandates are
    derived at the deadline (the platform casts the bound votes on the text sent)."""
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    bakers = users_of("bakery", fed)
    vote(instruction_item(sending, "bakery"), bakers, ["yes"] * (len(bakers) - 2) + ["no"] * 2)
    vote(instruction_item(sending, "press"), users_of("press", fed), ["no", "no", "yes"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return item


def _amend(fed: Federation, item: Proposal, clock: Any, text: str = AMENDED) -> TextVersion:
    clock.move_to(AMENDS_AT)
    return actions.amend_sent_item(actor=fed.delegate, proposal=item, text=text)


def _votes(item: Proposal) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for v in DelegationVote.objects.filter(proposal=item).order_by("pk"):
        out.setdefault(v.key, []).append((v.ballot["choice"], v.weight, v.cast_by))
    return out


# -- abstaining -------------------------------------------------------------------------------


def test_an_amendment_outside_the_mandate_makes_the_delegation_abstain(
    fed: Federation, clock: Any
) -> None:
    _steps(fed, "bakery", "abstain")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    assert _votes(item) == {
        "bakery->north": [("yes", "1", "system")],
        "press->north": [("no", "1", "system")],
    }
    version = _amend(fed, item, clock)
    assert version.number == 2
    # The votes cast on the text the bases instructed on are withdrawn, on the record.
    assert _votes(item) == {}
    [amended] = entries(fed, "proposal.amended")
    assert amended["text_sha256"] == version.sha256
    assert amended["previous_sha256"] == TextVersion.objects.get(proposal=item, number=1).sha256
    assert amended["outside_mandate"] == ["bakery->north", "press->north"]
    assert {(w["delegation"], w["ballot"]["choice"]) for w in amended["withdrawn"]} == {
        ("bakery->north", "yes"),
        ("press->north", "no"),
    }
    assert not PostponementRequest.objects.exists()
    # The members' own support is still shown, on the text they voted on.
    state = selectors.federated_item(item)
    assert state is not None
    assert state.members is not None
    assert (state.members.count("yes"), state.members.count("no")) == (5, 4)
    assert state.voted_sha256 == version.sha256
    # The vote goes ahead on the new text when it opens: both delegations abstain.
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    assert _votes(item) == {
        "bakery->north": [("abstain", "1", "system")],
        "press->north": [("abstain", "1", "system")],
    }
    [settled] = entries(fed, "out_of_mandate.settled")
    assert settled["voted_hash"] == version.sha256
    assert settled["settlement"]["postponed"] is False
    assert [(a["delegation"], a["step"]) for a in settled["settlement"]["actions"]] == [
        ("bakery->north", "abstain"),
        ("press->north", "abstain"),
    ]
    assert Sending.objects.get(proposal=item).settlement == settled["settlement"]
    tasks.close_due_votes.call()  # settled once
    assert len(entries(fed, "out_of_mandate.settled")) == 1
    clock.move_to(HIGHER_CLOSES)
    assert tasks.close_due_votes.call() == 1
    closed = refresh(item)
    assert json.loads(closed.result)["rounds"][0]["tallies"] == {
        "abstain": "2",
        "no": "0",
        "yes": "0",
    }


def test_amending_back_to_the_instructed_text_casts_the_bound_votes_again(
    fed: Federation, clock: Any
) -> None:
    _steps(fed, "bakery", "abstain")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    assert _votes(item) == {}
    back = actions.amend_sent_item(actor=fed.delegate, proposal=item, text=TEXT)
    assert back.number == 3
    assert _votes(item) == {
        "bakery->north": [("yes", "1", "system")],
        "press->north": [("no", "1", "system")],
    }
    assert entries(fed, "proposal.amended")[-1]["outside_mandate"] == []
    assert Sending.objects.get(proposal=item).out_of_mandate_since is None
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    assert not entries(fed, "out_of_mandate.settled")  # nothing is outside a mandate


# -- postponement -----------------------------------------------------------------------------


def test_postponement_is_granted_when_a_fifth_of_members_ask(fed: Federation, clock: Any) -> None:
    # The Bakery (12 members) abstains on an amendment; the Press (3 of the 15 members, a
    # fifth) asks to postpone: the platform asks for it, and the vote is postponed at once.
    _grow(fed, "bakery", 6)
    _steps(fed, "bakery", "abstain")
    item = _instructed(fed, clock)
    version = _amend(fed, item, clock)
    [asked] = PostponementRequest.objects.all()
    assert (asked.instruction.key, asked.requested_by, asked.voted_sha256) == (
        "press->north",
        "system",
        version.sha256,
    )
    [requested] = entries(fed, "postponement.requested")
    assert (requested["represented"], requested["requested_by"]) == ("3", "system")
    assert requested["events"][0]["instructed_hash"] == (
        TextVersion.objects.get(proposal=item, number=1).sha256
    )
    [postponed] = entries(fed, "vote.postponed")
    settlement = postponed["settlement"]
    assert (settlement["postponed"], settlement["requesting"], settlement["total"]) == (
        True,
        "3",
        "15",
    )
    assert postponed["represented"] == {"bakery->north": "12", "press->north": "3"}
    assert postponed["requested"] == {"press->north": "system"}
    assert postponed["round"] == 2
    # Nobody's vote on the postponed text stands; the text is re-sent to the bases.
    assert _votes(item) == {}
    sending = Sending.objects.get(proposal=item)
    assert sending.round == 2
    assert sending.out_of_mandate_since is None
    again = {i.key: i for i in Instruction.objects.filter(sending=sending, round=2)}
    assert sorted(again) == ["bakery->north", "press->north"]
    for instruction in again.values():
        base_text = instruction.base_proposal.versions.get()
        assert base_text.sha256 == version.sha256
        assert instruction.mandate is None
        assert instruction.weight == "1"
    assert postponed["cascade"] == {k: i.base_proposal.record_id for k, i in again.items()}
    # The later vote gives every base its 14 days again, counted from the postponement.
    higher = refresh(item)
    bakery = again["bakery->north"].base_proposal
    assert bakery.closes_at == AMENDS_AT + dt.timedelta(days=14)
    assert higher.voting_opened_at == bakery.closes_at + dt.timedelta(hours=24)
    assert higher.closes_at == higher.voting_opened_at + dt.timedelta(hours=72)
    assert postponed["opens_at"] == higher.voting_opened_at.isoformat().replace("+00:00", "Z")
    # At the old opening nothing happens; the bases instruct on the amended text.
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    assert _votes(item) == {}
    assert again["bakery->north"].opens_at is not None
    open_bases(clock, again["bakery->north"].opens_at)
    vote(bakery, users_of("bakery", fed), ["no"] * 12)
    vote(again["press->north"].base_proposal, users_of("press", fed), ["yes"] * 3)
    clock.move_to(bakery.closes_at)
    tasks.close_due_votes.call()
    mandates = {i.key: i.mandate for i in Instruction.objects.filter(sending=sending, round=2)}
    assert {k: (m["status"], m["content_hash"]) for k, m in mandates.items()} == {
        "bakery->north": ("instructed", version.sha256),
        "press->north": ("instructed", version.sha256),
    }
    assert _votes(item) == {
        "bakery->north": [("no", "1", "system")],
        "press->north": [("yes", "1", "system")],
    }
    clock.move_to(higher.closes_at)
    assert tasks.close_due_votes.call() == 1
    assert refresh(item).phase == "closed"


def test_a_postponement_asked_for_by_fewer_than_a_fifth_of_the_members_is_not_granted(
    fed: Federation, clock: Any
) -> None:
    _grow(fed, "bakery", 7)  # 13 + 3: the Press is 3/16 of the members
    _steps(fed, "bakery", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    assert PostponementRequest.objects.count() == 1
    assert not entries(fed, "vote.postponed")
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    [settled] = entries(fed, "out_of_mandate.settled")
    assert (settled["settlement"]["requesting"], settled["settlement"]["total"]) == ("3", "16")
    assert settled["requested"] == {"press->north": "system"}
    # Its request was not enough: the Press falls back to abstaining, as does the Bakery.
    assert _votes(item) == {
        "bakery->north": [("abstain", "1", "system")],
        "press->north": [("abstain", "1", "system")],
    }


def test_a_delegate_asks_to_postpone_their_delegations_vote(fed: Federation, clock: Any) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    # The Bakery's delegate casts its vote, so makes its request too: none is made for it.
    assert not PostponementRequest.objects.exists()
    with pytest.raises(PermissionDeniedError, match="only a delegate of bakery"):
        actions.request_postponement(actor=fed.member, proposal=item, delegation_from="bakery")
    asked = actions.request_postponement(
        actor=fed.delegate, proposal=item, delegation_from="bakery"
    )
    assert asked.requested_by == fed.delegate_member.record_id
    [requested] = entries(fed, "postponement.requested")
    assert (requested["delegation"], requested["represented"]) == ("bakery->north", "6")
    # 6 of 9 members asked: postponed and re-sent.
    assert Sending.objects.get(proposal=item).round == 2
    assert entries(fed, "vote.postponed")[0]["requested"] == {
        "bakery->north": fed.delegate_member.record_id
    }
    with pytest.raises(ConflictError, match="has no mandate on the text voted on yet"):
        actions.request_postponement(actor=fed.delegate, proposal=item, delegation_from="bakery")


def test_a_delegate_cannot_ask_to_postpone_a_text_the_mandate_covers_or_after_the_opening(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    with pytest.raises(ConflictError, match="covers the text voted on"):
        actions.request_postponement(actor=fed.delegate, proposal=item, delegation_from="bakery")
    _amend(fed, item, clock)
    clock.move_to(OPENS)
    with pytest.raises(ConflictError, match="can be asked for until it opens"):
        actions.request_postponement(actor=fed.delegate, proposal=item, delegation_from="bakery")


def test_a_delegation_whose_steps_do_not_ask_for_time_cannot_ask_to_postpone(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    _steps(fed, "bakery", "abstain")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    with pytest.raises(ConflictError, match="out_of_mandate_amendment is abstain"):
        actions.request_postponement(actor=fed.delegate, proposal=item, delegation_from="bakery")


# -- the delegate's vote outside the mandate --------------------------------------------------


def _checked_and_amended(fed: Federation, clock: Any, *steps: str) -> Proposal:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    _steps(fed, "bakery", *steps)
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    clock.move_to(OPENS)
    return item


def test_a_delegate_voting_outside_an_out_of_mandate_settlement_is_a_breach(
    fed: Federation, clock: Any
) -> None:
    item = _checked_and_amended(fed, clock, "abstain")
    # The delegate's vote settles the vote first, if the periodic task has not yet.
    breach = actions.delegate_cast(
        actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
    )
    assert breach is not None
    assert breach.event["mandated"] == [{"ballot": {"choice": "abstain"}, "weight": "1"}]
    assert breach.event["cast"] == [{"ballot": {"choice": "yes"}, "weight": "1"}]
    assert "outside" in breach.event["explanation"]
    [recorded] = entries(fed, "mandate.breached")
    assert recorded["delegate"] == fed.delegate_member.record_id
    # Not counted; the Press's abstention was cast by the platform at the settlement.
    assert _votes(item) == {"press->north": [("abstain", "1", "system")]}
    assert len(entries(fed, "out_of_mandate.settled")) == 1


def test_a_delegate_abstaining_on_an_amendment_outside_the_mandate_is_counted(
    fed: Federation, clock: Any
) -> None:
    item = _checked_and_amended(fed, clock, "abstain")
    tasks.close_due_votes.call()
    assert (
        actions.delegate_cast(
            actor=fed.delegate,
            proposal=item,
            delegation_from="bakery",
            ballot={"choice": "abstain"},
        )
        is None
    )
    assert _votes(item)["bakery->north"] == [("abstain", "1", fed.delegate_member.record_id)]
    assert not Breach.objects.exists()


def test_discretion_on_an_amendment_outside_the_mandate_is_flagged_for_the_base(
    fed: Federation, clock: Any
) -> None:
    # The platform casts the Bakery's bound votes, but on the amended text its steps give
    # the delegate discretion: the delegate casts, and the record flags it.
    _steps(fed, "bakery", "discretion")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    [settled] = entries(fed, "out_of_mandate.settled")
    bakery = next(a for a in settled["settlement"]["actions"] if a["delegation"] == "bakery->north")
    assert (bakery["step"], bakery["discretion"], bakery["votes"]) == ("discretion", True, [])
    assert "bakery->north" not in _votes(item)
    assert (
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
        )
        is None
    )
    assert _votes(item)["bakery->north"] == [("no", "1", fed.delegate_member.record_id)]
    [flagged] = entries(fed, "mandate.discretion_used")
    assert flagged["delegation"] == "bakery->north"
    assert "outside bakery's mandate" in flagged["explanation"]


def test_the_platform_casts_a_settled_abstention_itself(fed: Federation, clock: Any) -> None:
    _steps(fed, "bakery", "abstain")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    clock.move_to(OPENS)
    with pytest.raises(ConflictError, match="the delegation abstains"):
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
        )


# -- what cannot be amended -------------------------------------------------------------------


def test_a_sent_item_cannot_be_amended_before_its_bases_have_instructed(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    send(fed, item)
    with pytest.raises(ConflictError, match="have not all instructed yet"):
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=AMENDED)
    assert TextVersion.objects.filter(proposal=item).count() == 1


def test_a_sent_item_cannot_be_amended_once_its_vote_has_opened(
    fed: Federation, clock: Any
) -> None:
    item = _instructed(fed, clock)
    clock.move_to(OPENS)
    with pytest.raises(ConflictError, match="can no longer change"):
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=AMENDED)


def test_only_the_author_or_a_steward_amends_a_sent_item_and_only_the_item_sent(
    fed: Federation, clock: Any
) -> None:
    _steps(fed, "bakery", "abstain")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    clock.move_to(AMENDS_AT)
    for who in (fed.member, fed.outsider):
        with pytest.raises(PermissionDeniedError, match="author or a steward"):
            actions.amend_sent_item(actor=who, proposal=item, text=AMENDED)
    with pytest.raises(ConflictError, match="current text already"):
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=TEXT)
    base = Instruction.objects.get(key="bakery->north").base_proposal
    with pytest.raises(ConflictError, match="only North Region can amend it"):
        actions.amend_sent_item(actor=fed.steward, proposal=base, text=AMENDED)
    # An author who no longer sits in the council cannot amend its item; a steward can.
    from konsilo.web.councils.models import Office

    Office.objects.filter(member=fed.delegate_member).update(end=START.date())
    with pytest.raises(PermissionDeniedError, match="no longer sit in North Region"):
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=AMENDED)
    version = actions.amend_sent_item(actor=fed.steward, proposal=item, text=AMENDED)
    assert version.number == 2


# -- the API and the pages --------------------------------------------------------------------


def _api(user: Any) -> Api:
    client = Client()
    client.force_login(user)
    return Api(client)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_api_amends_a_sent_item_and_shows_where_each_delegation_stands(
    fed: Federation, clock: Any
) -> None:
    # The Press asks to postpone (3 of 9 members), short of North's half: the vote goes
    # ahead, and the Bakery, whose delegate casts, may still ask.
    set_policy(fed, "council", "north", {"mandate.postponement_threshold": "1/2"})
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    item = _instructed(fed, clock)
    clock.move_to(AMENDS_AT)
    path = f"/proposals/{item.public_id}/amendment"
    for who in (fed.member, fed.outsider):
        status, body = _api(who).post(path, {"text": AMENDED})
        assert status == 403, body
        assert "author or a steward" in body["error"]["message"]
    status, body = _api(fed.delegate).post(path, {})
    assert (status, body["error"]["field"]) == (422, "text")
    status, body = _api(fed.delegate).post(path, {"text": "   "})
    assert status == 400
    assert body["error"]["message"] == "text: expected some text, got none"
    status, body = _api(fed.delegate).post(path, {"text": AMENDED})
    assert status == 201, body
    assert (body["version"], body["round"]) == (2, 1)
    assert body["voted_sha256"] == body["text_sha256"]
    standing = body["out_of_mandate"]
    assert (standing["settled"], standing["settlement"]["requesting"]) == (False, "3")
    assert standing["settlement"]["threshold"] == "1/2"
    rows = {d["delegation"]: d for d in body["delegations"]}
    assert rows["press->north"]["postponement_requested"]["by"] == "system"
    assert rows["bakery->north"]["postponement_requested"] is None
    assert rows["bakery->north"]["out_of_mandate"]["step"] == "abstain"
    assert rows["bakery->north"]["mandate"]["content_hash"] != body["voted_sha256"]
    status, body = _api(fed.delegate).post(path, {"text": AMENDED})
    assert (status, body["error"]["code"]) == (409, "conflict")
    # The Bakery's delegate asks: 9 of 9 members now, postponed and re-sent.
    request_path = f"/proposals/{item.public_id}/postponement-request"
    status, body = _api(fed.member).post(request_path, {"delegation": "bakery"})
    assert status == 403
    status, body = _api(fed.delegate).post(request_path, {"delegation": "dairy"})
    assert status == 404
    assert "'dairy' sends no delegation" in body["error"]["message"]
    status, body = _api(fed.delegate).post(request_path, {"delegation": "bakery"})
    assert status == 201, body
    assert (body["delegation"], body["postponed"], body["round"]) == ("bakery->north", True, 2)
    assert body["requested_by"] == fed.delegate_member.record_id
    status, body = _api(fed.member).get(f"/proposals/{item.public_id}/federation")
    assert (status, body["round"], body["out_of_mandate"]) == (200, 2, None)
    assert all(d["mandate"] is None for d in body["delegations"])  # instructing again


def test_the_openapi_schema_lists_the_amendment_endpoints(client: Client) -> None:
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    assert "/api/v1/proposals/{pid}/amendment" in schema["paths"]
    assert "/api/v1/proposals/{pid}/postponement-request" in schema["paths"]


def test_the_page_amends_a_sent_item_and_a_delegate_asks_to_postpone_from_it(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    clock.move_to(AMENDS_AT)
    author = _client(fed.delegate)
    page = author.get(f"/p/{item.record_id}/").content.decode()
    assert "Amend the text" in page
    assert "Amend the text" not in _client(fed.member).get(f"/p/{item.record_id}/").content.decode()
    refused = _client(fed.member).post(f"/p/{item.record_id}/amend/", {"text": AMENDED})
    assert refused.status_code == 403
    assert "author or a steward" in refused.content.decode()
    empty = author.post(f"/p/{item.record_id}/amend/", {"text": ""})
    assert empty.status_code == 400
    done = author.post(f"/p/{item.record_id}/amend/", {"text": AMENDED})
    assert done.status_code == 302
    page = author.get(f"/p/{item.record_id}/").content.decode()
    assert "Amended outside the mandates" in page
    assert "Outside the mandate</b> (abstain)" in page
    assert "Ask to postpone the vote for Bakery" in page
    assert (
        "Ask to postpone" not in _client(fed.member).get(f"/p/{item.record_id}/").content.decode()
    )
    refused = _client(fed.member).post(f"/p/{item.record_id}/postpone/", {"delegation": "bakery"})
    assert refused.status_code == 403
    asked = author.post(f"/p/{item.record_id}/postpone/", {"delegation": "bakery"})
    assert asked.status_code == 302
    assert Sending.objects.get(proposal=item).round == 2
    page = author.get(f"/p/{item.record_id}/").content.decode()
    assert "sent again 1 time after the vote was postponed" in page
    again = author.post(f"/p/{item.record_id}/postpone/", {"delegation": "bakery"})
    assert again.status_code == 409
    assert "no mandate on the text voted on yet" in again.content.decode()


def test_the_page_shows_a_settled_vote_and_lets_a_delegate_with_discretion_cast(
    fed: Federation, clock: Any
) -> None:
    _steps(fed, "bakery", "discretion")
    _steps(fed, "press", "abstain")
    item = _instructed(fed, clock)
    _amend(fed, item, clock)
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    delegate = _client(fed.delegate)
    page = delegate.get(f"/p/{item.record_id}/").content.decode()
    assert "The vote went ahead when it opened" in page
    assert "the delegate decides, flagged for the base" in page
    assert "Cast Bakery&#x27;s vote" in page or "Cast Bakery's vote" in page
    cast = delegate.post(
        f"/p/{item.record_id}/delegation-vote/", {"delegation": "bakery", "choice": "yes"}
    )
    assert cast.status_code == 302
    assert _votes(item)["bakery->north"] == [("yes", "1", fed.delegate_member.record_id)]


# -- the record -------------------------------------------------------------------------------


def _export_and_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    return code, json.loads(capsys.readouterr().out), out


def _replayentries(out: Path) -> list[dict[str, Any]]:
    return [canonical.loads(line) for line in (out / "entries.jsonl").read_bytes().splitlines()]


def _replay(entries: list[dict[str, Any]], out: Path) -> Replay:
    texts = out / "texts"
    replay = Replay(read_text=lambda h: (texts / h).read_bytes() if (texts / h).exists() else None)
    for entry in sorted(entries, key=lambda e: int(e["index"])):
        replay.apply(int(entry["index"]), entry)
    return replay


@pytest.mark.django_db(transaction=True)
def test_a_postponed_and_re_instructed_amendment_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        _steps(fed, "bakery", "abstain")  # the Press asks: 3 of 9 members
        item = _instructed(fed, clock)
        _amend(fed, item, clock)
        sending = Sending.objects.get(proposal=item)
        assert sending.round == 2
        again = {i.key: i for i in Instruction.objects.filter(sending=sending, round=2)}
        opens = again["bakery->north"].opens_at
        assert opens is not None
        open_bases(clock, opens)
        vote(again["bakery->north"].base_proposal, users_of("bakery", fed), ["no"] * 6)
        vote(again["press->north"].base_proposal, users_of("press", fed), ["yes"] * 3)
        clock.move_to(again["bakery->north"].base_proposal.closes_at)
        tasks.close_due_votes.call()
        higher = refresh(item)
        assert higher.closes_at is not None
        clock.move_to(higher.closes_at)
        assert tasks.close_due_votes.call() == 1
    code, summary, out = _export_and_verify(tmp_path, capsys)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 4  # two on the text sent, two on the amended
    assert summary["decisions_recounted"] == 5
    replay = _replay(_replayentries(out), out)
    assert replay.counts()["settlements_rederived"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_settled_amendment_verifies_and_a_forged_settlement_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
        _steps(fed, "bakery", "discretion")
        _steps(fed, "press", "abstain")
        item = _instructed(fed, clock)
        _amend(fed, item, clock)
        clock.move_to(OPENS)
        tasks.close_due_votes.call()
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
        )
        clock.move_to(HIGHER_CLOSES)
        assert tasks.close_due_votes.call() == 1
    code, summary, out = _export_and_verify(tmp_path, capsys)
    assert code == 0, summary
    entries = _replayentries(out)
    assert _replay(entries, out).counts()["settlements_rederived"] == 1

    # The settlement and the votes cast from it are re-derived, not taken on trust.
    def refused(forge: Any) -> ReplayError:
        forged = json.loads(json.dumps(entries))
        index = forge(forged)
        with pytest.raises(ReplayError) as caught:
            _replay(forged, out)
        assert caught.value.index == index
        return caught.value

    def press_votes_yes(forged: list[dict[str, Any]]) -> int:
        cast = next(
            e
            for e in forged
            if e["type"] == "delegation.voted" and e["data"]["ballot"] == {"choice": "abstain"}
        )
        cast["data"]["ballot"] = {"choice": "yes"}
        return int(cast["index"])

    assert "against the settlement" in refused(press_votes_yes).reason

    def settled_without_discretion(forged: list[dict[str, Any]]) -> int:
        settled = next(e for e in forged if e["type"] == "out_of_mandate.settled")
        for action in settled["data"]["settlement"]["actions"]:
            action["discretion"] = False
        return int(settled["index"])

    assert "data.settlement: differs" in refused(settled_without_discretion).reason

    def fewer_members(forged: list[dict[str, Any]]) -> int:
        settled = next(e for e in forged if e["type"] == "out_of_mandate.settled")
        settled["data"]["represented"]["press->north"] = "30"
        return int(settled["index"])

    assert "press->north represents 3 members" in refused(fewer_members).reason

    def amended_after_opening(forged: list[dict[str, Any]]) -> int:
        amended = next(e for e in forged if e["type"] == "proposal.amended")
        amended["time"] = OPENS.isoformat().replace("+00:00", ".000000Z")
        return int(amended["index"])

    assert "opened at" in refused(amended_after_opening).reason
