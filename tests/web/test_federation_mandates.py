"""Mandates at the higher council: a delegate's checked vote and a breach, member-level
support, minority reports carried up, and the API and pages that show them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from konsilo import canonical
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions import tasks
from konsilo.web.errors import ConflictError, PermissionDeniedError
from konsilo.web.federation import actions, selectors
from konsilo.web.federation.models import Breach, DelegationVote
from konsilo.web.ledger.models import Entry
from tests.personas import Api, Federation
from tests.web.federation_support import (
    DEADLINE,
    OPENS,
    START,
    instruction_item,
    north_item,
    open_bases,
    send,
    set_policy,
    users_of,
    vote,
)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _api(user: Any) -> Api:
    client = Client()
    client.force_login(user)
    return Api(client)


def _checked_cycle(fed: Federation, clock: Any, enforcement: str = "delegate_casts_checked") -> Any:
    """The Bakery's delegate casts (delegate_casts_checked); the Bakery says yes 4 to 2."""
    set_policy(fed, "council", "bakery", {"mandate.enforcement": enforcement})
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 4 + ["no"] * 2)
    vote(instruction_item(sending, "press"), users_of("press", fed), ["no", "no", "yes"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return item


def test_a_delegate_voting_against_a_binding_mandate_is_recorded_as_a_breach(
    fed: Federation, clock: Any
) -> None:
    item = _checked_cycle(fed, clock)
    assert not DelegationVote.objects.filter(key="bakery->north").exists()
    clock.move_to(OPENS)
    breach = actions.delegate_cast(
        actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
    )
    assert breach is not None
    assert breach.delegate == fed.delegate_member
    assert breach.event["action"] == "flag"
    assert breach.event["mandated"] == [{"ballot": {"choice": "yes"}, "weight": "1"}]
    assert breach.event["cast"] == [{"ballot": {"choice": "no"}, "weight": "1"}]
    recorded = Entry.objects.get(organisation=fed.org, entry_type="mandate.breached")
    assert canonical.loads(recorded.data)["delegate"] == fed.delegate_member.record_id
    # The binding mandate holds the delegation's weight: the breaching vote is not counted.
    assert not DelegationVote.objects.filter(key="bakery->north").exists()
    with pytest.raises(ConflictError, match="recorded already"):
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
        )


def test_a_delegate_voting_as_mandated_is_counted_with_no_breach(
    fed: Federation, clock: Any
) -> None:
    item = _checked_cycle(fed, clock)
    clock.move_to(OPENS)
    assert (
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
        )
        is None
    )
    cast = DelegationVote.objects.get(key="bakery->north")
    assert (cast.ballot, cast.weight, cast.cast_by) == (
        {"choice": "yes"},
        "1",
        fed.delegate_member.record_id,
    )
    assert not Breach.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unchecked_delegate_voting_against_the_mandate_is_counted_and_the_departure_noted(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from konsilo.cli.main import main
    from tests.personas import build_federation

    fed = build_federation()  # committed, so that the record is sequenced for the export
    with time_machine.travel(START, tick=False) as clock:
        _unchecked_departure(fed, clock)
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(summary)
    assert summary["mandates_rederived"] == 2


def _unchecked_departure(fed: Federation, clock: Any) -> None:
    import json

    from tests.web.federation_support import HIGHER_CLOSES, refresh

    item = _checked_cycle(fed, clock, enforcement="delegate_casts_unchecked")
    clock.move_to(OPENS)
    assert (
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "no"}
        )
        is None
    )
    # Not held to the mandate: the vote counts as cast, and no breach opens a recall.
    cast = DelegationVote.objects.get(key="bakery->north")
    assert (cast.ballot, cast.cast_by) == ({"choice": "no"}, fed.delegate_member.record_id)
    assert not Breach.objects.exists()
    noted = canonical.loads(
        Entry.objects.get(organisation=fed.org, entry_type="mandate.departed").data
    )
    assert noted["mandated"] == [{"ballot": {"choice": "yes"}, "weight": "1"}]
    assert noted["cast"] == [{"ballot": {"choice": "no"}, "weight": "1"}]
    assert "delegate_casts_unchecked" in noted["explanation"]
    clock.move_to(HIGHER_CLOSES)
    tasks.close_due_votes.call()
    tallied = json.loads(refresh(item).result)["rounds"][0]["tallies"]
    assert tallied["yes"] == "0"  # the Press said no 2 to 1, the Bakery's delegate no


def test_only_a_delegate_of_the_base_may_cast_its_vote(fed: Federation, clock: Any) -> None:
    item = _checked_cycle(fed, clock)
    clock.move_to(OPENS)
    with pytest.raises(PermissionDeniedError, match="only a delegate of bakery"):
        actions.delegate_cast(
            actor=fed.member, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
        )


def test_a_delegate_cannot_cast_before_the_higher_vote_opens(fed: Federation, clock: Any) -> None:
    item = _checked_cycle(fed, clock)
    with pytest.raises(ConflictError, match="the vote opens at"):
        actions.delegate_cast(
            actor=fed.delegate, proposal=item, delegation_from="bakery", ballot={"choice": "yes"}
        )


def _closed_bases(fed: Federation, clock: Any) -> tuple[Any, Any]:
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    bakery = instruction_item(sending, "bakery")
    bakers = users_of("bakery", fed)
    vote(bakery, bakers, ["yes", "yes", "yes", "yes", "no", "no"])
    vote(instruction_item(sending, "press"), users_of("press", fed), ["no", "no", "yes"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return item, (bakery, bakers)


def test_the_higher_item_shows_member_level_support_beside_the_delegations_votes(
    fed: Federation, clock: Any
) -> None:
    item, _ = _closed_bases(fed, clock)
    state = selectors.federated_item(item)
    assert state is not None
    members = state.members
    assert members is not None
    # One delegation each way, but 5 of the 9 members said yes.
    assert (members.count("yes"), members.count("no")) == (5, 4)
    assert (members.voted, members.eligible, members.bases) == (9, 9, 2)
    rows = {r.key: r for r in state.delegations}
    assert [v.ballot["choice"] for v in rows["bakery->north"].votes] == ["yes"]
    assert [v.ballot["choice"] for v in rows["press->north"].votes] == ["no"]


def test_member_level_support_reads_the_base_votes_the_mandates_were_derived_from(
    fed: Federation, clock: Any
) -> None:
    from konsilo.web.federation.models import Instruction

    item, _ = _closed_bases(fed, clock)
    recorded = {
        canonical.loads(e.data)["delegation"]: canonical.loads(e.data)["base_vote"]
        for e in Entry.objects.filter(organisation=fed.org, entry_type="mandate.derived")
    }
    stored = {i.key: i.base_vote for i in Instruction.objects.filter(higher=item)}
    assert stored == recorded
    assert stored["bakery->north"]["ballots"] == [
        {"ballot": {"choice": "no"}, "weight": "2"},
        {"ballot": {"choice": "yes"}, "weight": "4"},
    ]
    # Without the stored votes (instructions derived before konsilo kept them), the same
    # support is computed again from the ballots.
    want = selectors.federated_item(item)
    Instruction.objects.filter(higher=item).update(base_vote=None)
    again = selectors.federated_item(item)
    assert want is not None
    assert again is not None
    assert again.members == want.members
    # Before the mandates are derived, the support is composed from the votes themselves,
    # in a few queries whatever the number of bases.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Instruction.objects.filter(higher=item).update(base_vote=None, mandate=None)
    with CaptureQueriesContext(connection) as queries:
        composed = selectors.federated_item(item)
    assert composed is not None
    assert composed.members == want.members
    assert len(queries) < 40


def test_a_minority_report_filed_at_a_base_travels_up_with_its_mandate(
    fed: Federation, clock: Any
) -> None:
    item, (bakery, bakers) = _closed_bases(fed, clock)
    dissenter = bakers[4]  # voted no
    report = decisions.file_minority_report(
        actor=dissenter, proposal=bakery, text="A van we cannot insure is a liability."
    )
    state = selectors.federated_item(item)
    assert state is not None
    rows = {r.key: r for r in state.delegations}
    carried = rows["bakery->north"].reports
    assert [(r.record_id, r.text) for r in carried] == [
        (report.record_id, "A van we cannot insure is a liability.")
    ]
    assert rows["press->north"].reports == []
    back = selectors.report_back(fed.delegate_member)
    assert [(b.item.pk, b.row.key, len(b.row.reports)) for b in back] == [
        (item.pk, "bakery->north", 1)
    ]


def test_the_api_sends_an_item_and_refuses_too_little_time_with_the_shortfall(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    api = _api(fed.delegate)
    early = (START + dt.timedelta(days=12)).isoformat()
    status, body = api.post(f"/proposals/{item.public_id}/sending", {"opens_at": early})
    assert status == 400
    assert body["error"]["code"] == "too_little_time"
    assert "bakery (workplace)" in body["error"]["message"]
    assert "3 days short" in body["error"]["message"]
    status, body = _api(fed.outsider).post(
        f"/proposals/{item.public_id}/sending", {"opens_at": OPENS.isoformat()}
    )
    assert status == 403
    status, body = api.post(f"/proposals/{item.public_id}/sending", {"opens_at": OPENS.isoformat()})
    assert status == 201
    assert [d["delegation"] for d in body["delegations"]] == ["bakery->north", "press->north"]
    status, body = api.get(f"/proposals/{item.public_id}/federation")
    assert status == 200
    assert body["member_support"] is None  # not before the bases have voted


def test_the_api_shows_mandates_votes_and_the_delegates_report_back(
    fed: Federation, clock: Any
) -> None:
    item, _ = _closed_bases(fed, clock)
    status, body = _api(fed.member).get(f"/proposals/{item.public_id}/federation")
    assert status == 200
    rows = {d["delegation"]: d for d in body["delegations"]}
    assert rows["bakery->north"]["mandate"]["status"] == "instructed"
    assert rows["bakery->north"]["votes"] == [
        {"ballot": {"choice": "yes"}, "weight": "1", "cast_by": "system"}
    ]
    support = {b["ballot"]["choice"]: b["weight"] for b in body["member_support"]["ballots"]}
    assert support == {"yes": "5", "no": "4"}
    status, back = _api(fed.delegate).get("/orgs/fed/report-back")
    assert status == 200
    assert [(b["delegation"], b["mandate"]["status"]) for b in back] == [
        ("bakery->north", "instructed")
    ]
    status, _ = _api(fed.outsider).get("/orgs/fed/report-back")
    assert status == 403


def _three_items_for_a_carrying_bakery(fed: Federation, clock: Any) -> tuple[Any, Any, Any]:
    """The Bakery carries its previous position; North sends the van twice (the identical
    text) and a cargo bike; the Bakery instructs on the first van item only."""
    set_policy(
        fed, "council", "bakery", {"mandate.no_instruction_behavior": "carry_previous_position"}
    )
    first = north_item(fed)
    again = north_item(fed, title="The van, once more")
    bike = north_item(fed, title="A cargo bike", text="The region funds a cargo bike.")
    sendings = [send(fed, item) for item in (first, again, bike)]
    open_bases(clock)
    vote(instruction_item(sendings[0], "bakery"), users_of("bakery", fed), ["yes"] * 4 + ["no"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    return first, again, bike


def _mandate(item: Any, base: str) -> dict[str, Any]:
    from konsilo.web.federation.models import Instruction

    mandate: dict[str, Any] = Instruction.objects.get(
        higher=item, delegation__from_council__key=base
    ).mandate
    return mandate


def test_carry_previous_position_carries_the_base_position_to_the_identical_text(
    fed: Federation, clock: Any
) -> None:
    first, again, _ = _three_items_for_a_carrying_bakery(fed, clock)
    instructed = _mandate(first, "bakery")
    carried = _mandate(again, "bakery")
    assert (instructed["status"], instructed["reason"]) == ("instructed", "instructed")
    assert (carried["status"], carried["reason"]) == ("instructed", "carried")
    assert carried["content_hash"] == instructed["content_hash"]
    assert carried["flags"] == ["carried_previous_position"]
    assert carried["votes"] == [{"ballot": {"choice": "yes"}, "weight": "1"}]
    assert carried["instructed_at"] == instructed["instructed_at"]
    # Bound and carried: the platform casts it, as it casts an instruction.
    cast = DelegationVote.objects.get(proposal=again, key="bakery->north")
    assert (cast.ballot, cast.cast_by) == ({"choice": "yes"}, "system")


def test_carry_previous_position_needs_the_identical_text(fed: Federation, clock: Any) -> None:
    _, _, bike = _three_items_for_a_carrying_bakery(fed, clock)
    mandate = _mandate(bike, "bakery")
    # Nobody in the Bakery voted on the bike: no quorum, and its only instruction is on
    # another text, so it abstains instead of carrying the van's yes.
    assert (mandate["status"], mandate["reason"]) == ("no_instruction", "no_quorum")
    assert mandate["flags"] == ["no_previous_position_on_identical_text"]
    assert mandate["votes"] == [{"ballot": {"choice": "abstain"}, "weight": "1"}]
    cast = DelegationVote.objects.get(proposal=bike, key="bakery->north")
    assert cast.ballot == {"choice": "abstain"}


@pytest.mark.django_db(transaction=True)
def test_a_carried_position_is_re_derived_by_verify(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from konsilo.cli.main import main
    from tests.personas import build_federation

    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        _, again, _ = _three_items_for_a_carrying_bakery(fed, clock)
    assert _mandate(again, "bakery")["reason"] == "carried"
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 6
