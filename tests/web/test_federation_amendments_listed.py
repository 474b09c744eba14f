"""Amendments listed in advance (domain-rules §3.10): "if amendment A is moved, vote yes".

North sends its item with amendment A listed; the Bakery (6 members) and the Press (3)
instruct on the text and on A, each in its own instruction vote. Amending the item to A's
exact text keeps every delegation within its mandate on A; any other text stays outside.
"""

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
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Proposal
from konsilo.web.errors import ConflictError, InvalidInputError
from konsilo.web.federation import actions, selectors
from konsilo.web.federation.models import (
    Breach,
    DelegationVote,
    Instruction,
    ListedAmendment,
    PostponementRequest,
    Sending,
)
from tests.personas import Api, Federation, build_federation
from tests.web import test_federation_cascade as cascade
from tests.web.federation_support import (
    BASES_OPEN,
    DEADLINE,
    HIGHER_CLOSES,
    OPENS,
    START,
    TEXT,
    entries,
    north_item,
    open_bases,
    refresh,
    send,
    set_policy,
    users_of,
    vote,
)

AMENDMENT_A = "The region funds a shared delivery van for its bases, electric only."
UNLISTED = "The region funds a shared delivery van for its bases, and insures it."
AMENDS_AT = DEADLINE + dt.timedelta(hours=1)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _instruction(sending: Sending, base: str, listed: str | None = None) -> Instruction:
    rows = Instruction.objects.filter(
        sending=sending, round=sending.round, base_proposal__council__key=base
    )
    return rows.get(listed__isnull=True) if listed is None else rows.get(listed__label=listed)


def _votes(item: Proposal) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for v in DelegationVote.objects.filter(proposal=item).order_by("pk"):
        out.setdefault(v.key, []).append((v.ballot["choice"], v.weight, v.cast_by))
    return out


def _instructed(
    fed: Federation,
    clock: Any,
    *,
    bakery: tuple[list[str], list[str] | None],
    press: tuple[list[str], list[str] | None],
) -> Proposal:
    """North sends its item with amendment A listed; each base votes (on the text, on A;
    None: no vote on A) and the mandates are derived at the deadline."""
    item = north_item(fed)
    sending = send(fed, item, amendments=[("A", AMENDMENT_A)])
    open_bases(clock)
    for base, (on_text, on_a) in (("bakery", bakery), ("press", press)):
        users = users_of(base, fed)
        vote(_instruction(sending, base).base_proposal, users, on_text)
        if on_a is not None:
            vote(_instruction(sending, base, "A").base_proposal, users, on_a)
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return item


def _amend(fed: Federation, item: Proposal, clock: Any, text: str) -> None:
    clock.move_to(AMENDS_AT)
    actions.amend_sent_item(actor=fed.delegate, proposal=item, text=text)


def _close(clock: Any, item: Proposal) -> dict[str, str]:
    clock.move_to(OPENS)
    tasks.close_due_votes.call()
    clock.move_to(HIGHER_CLOSES)
    assert tasks.close_due_votes.call() == 1
    tallies: dict[str, str] = json.loads(refresh(item).result)["rounds"][0]["tallies"]
    return tallies


YES_BAKERY = ["yes"] * 4 + ["no"] * 2
NO_BAKERY = ["no"] * 4 + ["yes"] * 2


def test_a_listed_amendment_adopted_keeps_every_delegation_within_its_mandate_and_casts_its_votes(
    fed: Federation, clock: Any
) -> None:
    item = _instructed(
        fed, clock, bakery=(YES_BAKERY, YES_BAKERY), press=(["no", "no", "yes"], ["yes"] * 3)
    )
    sending = Sending.objects.get(proposal=item)
    [listed] = ListedAmendment.objects.filter(sending=sending)
    # Every base instructed on A in its own vote, on A's text, in the same schedule.
    for base in ("bakery", "press"):
        main, on_a = _instruction(sending, base), _instruction(sending, base, "A")
        assert on_a.base_proposal.versions.get().sha256 == listed.sha256
        assert (on_a.opens_at, on_a.base_proposal.closes_at) == (
            main.opens_at,
            main.base_proposal.closes_at,
        )
        assert on_a.base_proposal.census == main.base_proposal.census
        assert on_a.weight == main.weight
        assert on_a.mandate is not None
        assert on_a.mandate["content_hash"] == listed.sha256
    [entry] = entries(fed, "amendment.listed")
    assert (entry["label"], entry["text_sha256"], entry["round"]) == ("A", listed.sha256, 1)
    derived = [d for d in entries(fed, "mandate.derived") if d.get("listed")]
    assert sorted(d["delegation"] for d in derived) == ["bakery->north", "press->north"]
    # Only the mandates on the text sent are cast before any amendment.
    assert _votes(item) == {
        "bakery->north": [("yes", "1", "system")],
        "press->north": [("no", "1", "system")],
    }
    _amend(fed, item, clock, AMENDMENT_A)
    [amended] = entries(fed, "proposal.amended")
    assert (amended["outside_mandate"], amended["listed"]) == ([], "A")
    assert {(w["delegation"], w["ballot"]["choice"]) for w in amended["withdrawn"]} == {
        ("bakery->north", "yes"),
        ("press->north", "no"),
    }
    assert _votes(item) == {
        "bakery->north": [("yes", "1", "system")],
        "press->north": [("yes", "1", "system")],
    }
    sending.refresh_from_db()
    assert sending.out_of_mandate_since is None
    assert not PostponementRequest.objects.exists()
    assert _close(clock, item) == {"abstain": "0", "no": "0", "yes": "2"}
    assert not entries(fed, "out_of_mandate.settled")
    assert refresh(item).outcome == "adopted"
    # The member-level support is the members' on A, the text voted on (on the text sent
    # it was 5 to 4): the Bakery's 4 to 2 and the Press's 3 to 0.
    state = selectors.federated_item(refresh(item))
    assert state is not None
    assert state.members is not None
    assert (state.members.count("yes"), state.members.count("no")) == (7, 2)


def test_a_base_that_instructed_yes_on_the_text_and_no_on_amendment_a_votes_no_on_a(
    fed: Federation, clock: Any
) -> None:
    item = _instructed(fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["yes"] * 3, ["yes"] * 3))
    sending = Sending.objects.get(proposal=item)
    assert _instruction(sending, "bakery").mandate["votes"][0]["ballot"] == {"choice": "yes"}
    assert _instruction(sending, "bakery", "A").mandate["votes"][0]["ballot"] == {"choice": "no"}
    _amend(fed, item, clock, AMENDMENT_A)
    # The Press's mandate on A is the same yes: only the Bakery's vote changes, but both
    # come from the mandate on A now.
    assert _votes(item) == {
        "bakery->north": [("no", "1", "system")],
        "press->north": [("yes", "1", "system")],
    }
    # Amending back to the text sent brings the mandates on it back.
    actions.amend_sent_item(actor=fed.delegate, proposal=item, text=TEXT)
    assert _votes(item) == {
        "bakery->north": [("yes", "1", "system")],
        "press->north": [("yes", "1", "system")],
    }
    actions.amend_sent_item(actor=fed.delegate, proposal=item, text=AMENDMENT_A)
    assert _close(clock, item) == {"abstain": "0", "no": "1", "yes": "1"}
    assert refresh(item).outcome == "rejected"  # a tie fails


def test_an_amendment_to_a_text_not_listed_is_still_outside_the_mandates(
    fed: Federation, clock: Any
) -> None:
    for base in ("bakery", "press"):
        set_policy(fed, "council", base, {"mandate.out_of_mandate_amendment": ["abstain"]})
    item = _instructed(fed, clock, bakery=(YES_BAKERY, YES_BAKERY), press=(["yes"] * 3, None))
    _amend(fed, item, clock, UNLISTED)
    [amended] = entries(fed, "proposal.amended")
    assert amended["outside_mandate"] == ["bakery->north", "press->north"]
    assert "listed" not in amended
    assert _votes(item) == {}
    assert Sending.objects.get(proposal=item).out_of_mandate_since is not None
    assert _close(clock, item) == {"abstain": "2", "no": "0", "yes": "0"}
    [settled] = entries(fed, "out_of_mandate.settled")
    assert [a["step"] for a in settled["settlement"]["actions"]] == ["abstain", "abstain"]


def test_amending_from_a_listed_amendment_to_a_text_not_listed_withdraws_the_votes_on_it(
    fed: Federation, clock: Any
) -> None:
    for base in ("bakery", "press"):
        set_policy(fed, "council", base, {"mandate.out_of_mandate_amendment": ["abstain"]})
    item = _instructed(fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["yes"] * 3, None))
    _amend(fed, item, clock, AMENDMENT_A)
    assert _votes(item) == {
        "bakery->north": [("no", "1", "system")],
        "press->north": [("abstain", "1", "system")],
    }
    actions.amend_sent_item(actor=fed.delegate, proposal=item, text=UNLISTED)
    last = entries(fed, "proposal.amended")[-1]
    assert last["outside_mandate"] == ["bakery->north", "press->north"]
    assert {(w["delegation"], w["ballot"]["choice"]) for w in last["withdrawn"]} == {
        ("bakery->north", "no"),
        ("press->north", "abstain"),
    }
    assert _votes(item) == {}
    assert _close(clock, item) == {"abstain": "2", "no": "0", "yes": "0"}


def test_a_base_with_no_vote_on_the_listed_amendment_follows_its_no_instruction_behaviour(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.no_instruction_behavior": "not_counted"})
    # Nobody in the Bakery votes on A, nor in the Press: no instruction on A for either.
    item = _instructed(fed, clock, bakery=(YES_BAKERY, None), press=(["no"] * 3, None))
    sending = Sending.objects.get(proposal=item)
    for base in ("bakery", "press"):
        on_a = _instruction(sending, base, "A").mandate
        assert on_a is not None
        assert on_a["status"] == "no_instruction"
    _amend(fed, item, clock, AMENDMENT_A)
    [amended] = entries(fed, "proposal.amended")
    assert amended["outside_mandate"] == []  # within the mandates on A, uninstructed
    # The Press abstains (the default), the Bakery is not counted: no vote cast for it.
    assert _votes(item) == {"press->north": [("abstain", "1", "system")]}
    assert not PostponementRequest.objects.exists()
    assert _close(clock, item) == {"abstain": "1", "no": "0", "yes": "0"}


def test_a_delegate_who_casts_is_bound_by_the_mandate_on_the_listed_amendment(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    item = _instructed(fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["yes"] * 3, None))
    _amend(fed, item, clock, AMENDMENT_A)
    # A delegate asks for no time on a text their mandate (on A) covers.
    with pytest.raises(ConflictError, match="covers the text voted on"):
        actions.request_postponement(actor=fed.delegate, proposal=item, delegation_from="bakery")
    clock.move_to(OPENS)
    # Yes follows the mandate on the text sent, not the one on A: a breach, not counted.
    breach = actions.delegate_cast(
        actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
    )
    assert breach is not None
    assert Breach.objects.get().event["delegation"] == "bakery->north"
    assert "bakery->north" not in _votes(item)


def test_the_delegate_casting_per_the_mandate_on_a_listed_amendment_is_counted(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    item = _instructed(fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["yes"] * 3, None))
    _amend(fed, item, clock, AMENDMENT_A)
    clock.move_to(OPENS)
    assert (
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
        )
        is None
    )
    assert _votes(item)["bakery->north"] == [("no", "1", fed.delegate_member.record_id)]


# -- a council in between --------------------------------------------------------------------

THREE = [
    ("congress", "congress", None),
    ("north", "region", "congress"),
    ("south", "region", "congress"),
    ("dock", "workplace", "north"),
    ("crane", "workplace", "north"),
    ("farm", "workplace", "north"),
    ("mill", "workplace", "south"),
]


def _members_vote(fed: Any, base: str, proposal: Proposal, choices: list[str]) -> None:
    members = users_of(base, fed)
    vote(proposal, members, choices)


@pytest.mark.django_db(transaction=True)
def test_an_intermediate_council_composes_its_delegations_mandates_on_a_listed_amendment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = cascade.build(
        cascade.TWO_LEVELS, THREE, dict.fromkeys(("dock", "crane", "farm", "mill"), 3)
    )
    cascade.policy(fed, "organisation", "", {"mandate.mode": "bound_majority"})
    item = cascade.top_item(fed, "congress")
    with time_machine.travel(START, tick=False) as clock:
        sending = actions.send_to_bases(
            actor=fed.author,
            proposal=item,
            opens_at=cascade.TWO_OPENS,
            composition="re_deliberation",
            amendments=[("A", AMENDMENT_A)],
        )
        north_a = _instruction(sending, "north", "A")
        # North votes on A in its own item, of its delegations, open from the sending.
        assert north_a.base_proposal.phase == "voting"
        assert north_a.base_proposal.census["basis"] == "delegations"
        assert _instruction(sending, "dock", "A").higher_id == north_a.base_proposal_id
        assert north_a.higher_id == item.pk
        clock.move_to(_instruction(sending, "dock").opens_at)
        tasks.open_due_votes.call()
        # Everyone is for the text; on A the dock and the crane are against, the farm and
        # the mill for.
        for base, on_a in (("dock", "no"), ("crane", "no"), ("farm", "yes"), ("mill", "yes")):
            _members_vote(fed, base, _instruction(sending, base).base_proposal, ["yes"] * 3)
            _members_vote(fed, base, _instruction(sending, base, "A").base_proposal, [on_a] * 3)
        north_due = _instruction(sending, "north").base_proposal.closes_at
        assert north_due is not None
        clock.move_to(north_due)
        for _ in range(3):
            tasks.close_due_votes.call()
        # The platform cast the bases' mandates on A in North's vote on A ...
        assert _votes(north_a.base_proposal) == {
            "crane->north": [("no", "1", "system")],
            "dock->north": [("no", "1", "system")],
            "farm->north": [("yes", "1", "system")],
        }
        # ... and North re-deliberated on them: its delegation's mandate on A is no.
        north_a.refresh_from_db()
        assert north_a.mandate is not None
        assert [v["ballot"]["choice"] for v in north_a.mandate["votes"]] == ["no"]
        [entry] = [
            d
            for d in entries(fed, "mandate.derived")
            if d["delegation"] == "north->congress" and d.get("listed")
        ]
        assert (entry["composition"], entry["delegations"]) == ("re_deliberation", 3)
        assert _votes(item) == {
            "north->congress": [("yes", "1", "system")],
            "south->congress": [("yes", "1", "system")],
        }
        clock.move_to(north_due + dt.timedelta(hours=1))
        actions.amend_sent_item(actor=fed.steward, proposal=item, text=AMENDMENT_A)
        assert _votes(item) == {
            "north->congress": [("no", "1", "system")],
            "south->congress": [("yes", "1", "system")],
        }
        closes = refresh(item).closes_at
        assert closes is not None
        clock.move_to(closes)
        tasks.close_due_votes.call()
        assert json.loads(refresh(item).result)["rounds"][0]["tallies"] == {
            "abstain": "0",
            "no": "1",
            "yes": "1",
        }
    code, summary, _ = _export_and_verify(tmp_path, capsys)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 12  # six delegations, on the text and on A


# -- the API, the page and bad input ----------------------------------------------------------


def _api(user: Any) -> Api:
    client = Client()
    client.force_login(user)
    return Api(client)


def test_bad_listed_amendments_are_refused_with_a_clear_message(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    path = f"/proposals/{item.public_id}/sending"
    when = OPENS.isoformat()

    def refused(amendments: list[dict[str, str]]) -> tuple[int, dict[str, Any]]:
        status, body = _api(fed.delegate).post(path, {"opens_at": when, "amendments": amendments})
        return status, body["error"]

    status, error = refused([{"label": "A", "text": TEXT}])
    assert (status, error["field"]) == (400, "amendments[0].text")
    assert "the text sent itself" in error["message"]
    status, error = refused(
        [{"label": "A", "text": AMENDMENT_A}, {"label": "B", "text": AMENDMENT_A}]
    )
    assert (status, error["field"]) == (400, "amendments[1].text")
    assert error["message"] == "amendments[1].text: the same text as amendment 'A'"
    status, error = refused([{"label": "A", "text": AMENDMENT_A}, {"label": "A", "text": UNLISTED}])
    assert (status, error["message"]) == (
        400,
        "amendments[1].label: amendment 'A' is listed already",
    )
    status, error = refused([{"label": "A", "text": "x" * 100_001}])
    assert (status, error["message"]) == (
        400,
        "amendments[0].text: at most 100000 characters, got 100001",
    )
    status, error = refused([{"label": " ", "text": AMENDMENT_A}])
    assert (status, error["message"]) == (400, "amendments[0].label: expected some text, got none")
    status, error = refused([{"label": str(n), "text": f"{AMENDMENT_A} {n}"} for n in range(11)])
    assert (status, error["field"]) == (400, "amendments")
    assert "at most 10 listed amendments" in error["message"]
    status, error = refused([{"label": "A"}])
    assert status == 422
    # Nothing was sent by the refusals.
    assert not Sending.objects.exists()
    assert refresh(item).phase == "discussion"


def test_an_amendment_listed_after_sending_is_instructed_on_until_the_first_vote_below_opens(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    sending = send(fed, item)
    path = f"/proposals/{item.public_id}/listed-amendments"
    status, body = _api(fed.member).post(path, {"label": "A", "text": AMENDMENT_A})
    assert status == 403, body
    status, body = _api(fed.delegate).post(path, {"label": "A", "text": AMENDMENT_A})
    assert status == 201, body
    assert body["listed_amendments"] == [
        {
            "label": "A",
            "number": 1,
            "text": AMENDMENT_A,
            "text_sha256": body["text_sha256"],
            "voted": False,
        }
    ]
    rows = {d["delegation"]: d for d in body["delegations"]}
    [on_a] = rows["bakery->north"]["listed_mandates"]
    assert (on_a["label"], on_a["mandate"], on_a["governs"]) == ("A", None, False)
    assert _instruction(sending, "press", "A").opens_at == BASES_OPEN
    status, body = _api(fed.delegate).post(path, {"label": "B", "text": AMENDMENT_A})
    assert (status, body["error"]["message"]) == (
        400,
        "amendments[0].text: the same text as amendment 'A'",
    )
    open_bases(clock)
    status, body = _api(fed.delegate).post(path, {"label": "B", "text": UNLISTED})
    assert status == 409
    assert "until the first of their votes opens" in body["error"]["message"]
    assert ListedAmendment.objects.count() == 1
    # Both bases' votes on A opened with their votes on the text.
    assert _instruction(sending, "press", "A").base_proposal.phase == "voting"
    other = north_item(fed, title="Another van")
    with pytest.raises(ConflictError, match="list its amendments when you send it"):
        actions.list_amendment(actor=fed.delegate, proposal=other, label="A", text=AMENDMENT_A)
    with pytest.raises(InvalidInputError, match="this is the text sent itself"):
        actions.send_to_bases(
            actor=fed.delegate, proposal=other, opens_at=OPENS, amendments=[("A", TEXT)]
        )


def test_the_api_and_page_show_the_listed_amendments_and_each_mandate_on_them(
    fed: Federation, clock: Any
) -> None:
    item = _instructed(fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["yes"] * 3, ["yes"] * 3))
    _amend(fed, item, clock, AMENDMENT_A)
    status, body = _api(fed.member).get(f"/proposals/{item.public_id}/federation")
    assert status == 200
    [listed] = body["listed_amendments"]
    assert (listed["label"], listed["voted"]) == ("A", True)
    assert body["voted_sha256"] == listed["text_sha256"]
    assert body["out_of_mandate"] is None
    rows = {d["delegation"]: d for d in body["delegations"]}
    [bakery_a] = rows["bakery->north"]["listed_mandates"]
    assert bakery_a["governs"] is True
    assert bakery_a["mandate"]["votes"][0]["ballot"] == {"choice": "no"}
    assert bakery_a["instruction_outcome"] == "rejected"
    assert rows["bakery->north"]["mandate"]["votes"][0]["ballot"] == {"choice": "yes"}
    client = Client()
    client.force_login(fed.member)
    page = client.get(f"/p/{item.record_id}/").content.decode()
    assert "Amendments listed in advance" in page
    assert "On amendment A <b>(voted on now)</b>" in page
    # The delegate's report-back shows the mandate on A too.
    status, back = _api(fed.delegate).get("/orgs/fed/report-back")
    assert status == 200
    [entry] = [e for e in back if e["item"] == item.record_id]
    assert entry["listed_mandates"][0]["mandate"]["votes"][0]["ballot"] == {"choice": "no"}
    delegate = Client()
    delegate.force_login(fed.delegate)
    assert "On amendment A" in delegate.get("/o/fed/report-back/").content.decode()


def test_the_page_sends_an_item_with_a_listed_amendment_and_lists_another(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    client = Client()
    client.force_login(fed.delegate)
    opens = OPENS.strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/p/{item.record_id}/send/", {"opens_at": opens, "amendment_label": "A"}
    )
    assert response.status_code == 400
    assert "amendment_text: a listed amendment needs both" in response.content.decode()
    response = client.post(
        f"/p/{item.record_id}/send/",
        {"opens_at": opens, "amendment_label": "A", "amendment_text": AMENDMENT_A},
    )
    assert response.status_code == 302
    page = client.get(f"/p/{item.record_id}/").content.decode()
    assert "List an amendment in advance" in page
    response = client.post(f"/p/{item.record_id}/list-amendment/", {"label": "B", "text": UNLISTED})
    assert response.status_code == 302
    assert list(ListedAmendment.objects.values_list("label", flat=True)) == ["A", "B"]
    sending = Sending.objects.get(proposal=item)
    b = _instruction(sending, "bakery", "B").base_proposal
    assert b.title == "A shared delivery van: amendment B"
    assert "on <b>amendment B</b>" in client.get(f"/p/{b.record_id}/").content.decode()


# -- export and verify ------------------------------------------------------------------------


def _export_and_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    return code, json.loads(capsys.readouterr().out), out


def _replay(entries: list[dict[str, Any]], out: Path) -> Replay:
    texts = out / "texts"
    replay = Replay(read_text=lambda h: (texts / h).read_bytes() if (texts / h).exists() else None)
    for entry in sorted(entries, key=lambda e: int(e["index"])):
        replay.apply(int(entry["index"]), entry)
    return replay


@pytest.mark.django_db(transaction=True)
def test_a_cycle_with_a_pre_instructed_amendment_verifies_and_a_tampered_listed_mandate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        for base in ("bakery", "press"):
            set_policy(fed, "council", base, {"mandate.out_of_mandate_amendment": ["abstain"]})
        item = _instructed(
            fed, clock, bakery=(YES_BAKERY, NO_BAKERY), press=(["no"] * 3, ["yes"] * 3)
        )
        # To A, away to a text not listed (outside every mandate), and back to A.
        _amend(fed, item, clock, AMENDMENT_A)
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=UNLISTED)
        actions.amend_sent_item(actor=fed.delegate, proposal=item, text=AMENDMENT_A)
        assert _close(clock, item) == {"abstain": "0", "no": "1", "yes": "1"}
    code, summary, out = _export_and_verify(tmp_path, capsys)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 4  # two on the text sent, two on A
    assert summary["decisions_recounted"] == 5  # four instruction votes and North's
    entries = [canonical.loads(line) for line in (out / "entries.jsonl").read_bytes().splitlines()]
    digest = next(e for e in entries if e["type"] == "amendment.listed")["data"]["text_sha256"]
    assert (out / "texts" / digest).read_text() == AMENDMENT_A

    def refused(forge: Any) -> ReplayError:
        forged = json.loads(json.dumps(entries))
        index = forge(forged)
        with pytest.raises(ReplayError) as caught:
            _replay(forged, out)
        assert caught.value.index == index
        return caught.value

    def on_a(forged: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return next(
            e
            for e in forged
            if e["type"] == "mandate.derived"
            and e["data"].get("listed")
            and e["data"]["delegation"] == key
        )

    def bakery_mandate_on_a_says_yes(forged: list[dict[str, Any]]) -> int:
        entry = on_a(forged, "bakery->north")
        entry["data"]["mandate"]["votes"][0]["ballot"] = {"choice": "yes"}
        return int(entry["index"])

    assert "differs from the one derived" in refused(bakery_mandate_on_a_says_yes).reason

    def bakery_votes_yes_on_a(forged: list[dict[str, Any]]) -> int:
        amended = [e for e in forged if e["type"] == "proposal.amended"][-1]
        cast = next(
            e
            for e in forged
            if e["type"] == "delegation.voted"
            and int(e["index"]) > int(amended["index"])
            and e["data"]["delegation"] == "bakery->north"
        )
        cast["data"]["ballot"] = {"choice": "yes"}
        return int(cast["index"])

    assert "against its binding mandate" in refused(bakery_votes_yes_on_a).reason

    def not_listed(forged: list[dict[str, Any]]) -> int:
        entry = on_a(forged, "press->north")
        entry["data"]["listed"] = "ab" * 32
        return int(entry["index"])

    assert "data.listed" in refused(not_listed).reason

    def amended_claims_outside(forged: list[dict[str, Any]]) -> int:
        amended = next(e for e in forged if e["type"] == "proposal.amended")
        amended["data"]["outside_mandate"] = ["bakery->north", "press->north"]
        return int(amended["index"])

    assert "data.outside_mandate" in refused(amended_claims_outside).reason

    def keeps_the_votes_on_the_text(forged: list[dict[str, Any]]) -> int:
        amended = next(e for e in forged if e["type"] == "proposal.amended")
        assert amended["data"]["withdrawn"]  # the votes from the mandates on the text sent
        amended["data"]["withdrawn"] = []
        return int(amended["index"])

    assert "data.withdrawn" in refused(keeps_the_votes_on_the_text).reason

    def listed_as_the_text_itself(forged: list[dict[str, Any]]) -> int:
        listed = next(e for e in forged if e["type"] == "amendment.listed")
        sent = next(e for e in forged if e["type"] == "proposal.created")
        listed["data"]["text_sha256"] = sent["data"]["text_sha256"]
        return int(listed["index"])

    assert "is the text voted on itself" in refused(listed_as_the_text_itself).reason
