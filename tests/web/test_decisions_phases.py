"""Proposals through their phases: seconds, notice, vote window, one extension, withdrawal."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import time_machine

from konsilo.web.decisions import actions
from konsilo.web.decisions.models import Proposal, TextVersion
from konsilo.web.errors import ConflictError, InvalidInputError, PermissionDeniedError
from konsilo.web.ledger.models import Entry
from tests.personas import Api, Federation
from tests.web.decisions_support import (
    NOTICE,
    START,
    WINDOW,
    api_for,
    bakery,
    bakery_voters,
    draft,
    refresh,
    to_discussion,
    to_voting,
)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def users(fed: Federation) -> list[Any]:
    return bakery_voters(fed)


def _entries(fed: Federation, entry_type: str) -> list[Entry]:
    return list(Entry.objects.filter(organisation=fed.org, entry_type=entry_type).order_by("pk"))


def test_a_member_drafts_a_proposal_with_the_policy_and_a_hashed_text(fed: Federation) -> None:
    proposal = draft(fed, text="Bake rye on Fridays.")
    assert proposal.phase == Proposal.Phase.DRAFT
    version = TextVersion.objects.get(proposal=proposal)
    assert version.sha256 == hashlib.sha256(b"Bake rye on Fridays.").hexdigest()
    assert proposal.policy["decision_rule.rule"] == "simple_majority"
    assert proposal.policy["agenda.min_notice"] == "P7D"
    assert proposal.policy_versions == {"organisation": 1, "council": None, "decision_type": None}
    (created,) = _entries(fed, "proposal.created")
    assert f'"text_sha256":"{version.sha256}"' in created.data


def test_the_policy_of_the_decision_type_sets_rule_and_timing(fed: Federation) -> None:
    proposal = draft(fed, decision_type="statutes")
    assert proposal.policy["decision_rule.rule"] == "supermajority(2/3)"
    assert proposal.policy["agenda.min_notice"] == "P30D"
    assert proposal.policy["timing.vote_window"] == "P7D"


def test_every_text_version_is_kept_with_its_hash(fed: Federation) -> None:
    proposal = draft(fed)
    actions.revise_text(actor=fed.member, proposal=proposal, text="Buy two ovens.")
    versions = list(TextVersion.objects.filter(proposal=proposal).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].sha256 == hashlib.sha256(b"Buy two ovens.").hexdigest()
    assert versions[0].text == "The bakery buys a second oven before winter."
    (revised,) = _entries(fed, "proposal.revised")
    assert versions[0].sha256 in revised.data


def test_only_the_author_revises_and_only_before_voting(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = draft(fed)
    with pytest.raises(PermissionDeniedError):
        actions.revise_text(actor=fed.delegate, proposal=proposal, text="Something else")
    voting = to_voting(fed, users, clock)
    with pytest.raises(ConflictError, match="phase voting"):
        actions.revise_text(actor=fed.member, proposal=voting, text="Too late")


def test_a_draft_reaches_the_agenda_only_when_seconded_by_two(
    fed: Federation, users: list[Any]
) -> None:
    proposal = draft(fed)
    with pytest.raises(ConflictError, match="needs 2 seconds to reach the agenda and has 0"):
        actions.open_discussion(actor=fed.member, proposal=proposal)
    actions.second_proposal(actor=fed.delegate, proposal=proposal)
    with pytest.raises(ConflictError, match="has 1"):
        actions.open_discussion(actor=fed.member, proposal=proposal)
    actions.second_proposal(actor=users[2], proposal=proposal)
    opened = actions.open_discussion(actor=fed.member, proposal=proposal)
    assert opened.phase == Proposal.Phase.DISCUSSION
    assert len(_entries(fed, "proposal.seconded")) == 2


def test_the_author_cannot_second_and_nobody_seconds_twice(fed: Federation) -> None:
    proposal = draft(fed)
    with pytest.raises(ConflictError, match="own proposal"):
        actions.second_proposal(actor=fed.member, proposal=proposal)
    actions.second_proposal(actor=fed.delegate, proposal=proposal)
    with pytest.raises(ConflictError, match="already"):
        actions.second_proposal(actor=fed.delegate, proposal=proposal)


def test_any_member_items_need_no_seconds_under_that_policy(fed: Federation) -> None:
    from konsilo.web.councils import actions as council_actions

    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"agenda.member_item_right": "any_member"},
    )
    proposal = draft(fed)
    assert actions.open_discussion(actor=fed.member, proposal=proposal).phase == "discussion"


def test_voting_opens_only_after_the_minimum_notice(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = draft(fed)
    to_discussion(fed, proposal, users)
    clock.shift(NOTICE / 2)
    opens = (START + NOTICE).isoformat().replace("+00:00", "")
    with pytest.raises(ConflictError, match=f"voting can open from {opens}"):
        actions.open_vote(actor=fed.member, proposal=proposal)
    assert refresh(proposal).phase == Proposal.Phase.DISCUSSION
    clock.shift(NOTICE / 2)
    opened = actions.open_vote(actor=fed.member, proposal=proposal)
    assert opened.phase == Proposal.Phase.VOTING
    assert opened.closes_at == START + NOTICE + WINDOW


def test_the_vote_is_extended_once_by_one_window(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    deadline = proposal.closes_at
    extended = actions.extend_vote(actor=users[3], proposal=proposal)
    assert extended.closes_at == deadline + WINDOW
    with pytest.raises(ConflictError, match="extended once already"):
        actions.extend_vote(actor=users[4], proposal=proposal)
    assert len(_entries(fed, "vote.extended")) == 1


def test_an_outsider_cannot_extend_a_vote(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    with pytest.raises(PermissionDeniedError):
        actions.extend_vote(actor=fed.outsider, proposal=proposal)


def test_the_author_withdraws_a_draft_or_an_item_in_discussion(
    fed: Federation, users: list[Any]
) -> None:
    first = draft(fed)
    assert actions.withdraw_proposal(actor=fed.member, proposal=first).phase == "withdrawn"
    second = draft(fed)
    to_discussion(fed, second, users)
    with pytest.raises(PermissionDeniedError):
        actions.withdraw_proposal(actor=fed.delegate, proposal=second)
    withdrawn = actions.withdraw_proposal(actor=fed.member, proposal=second, reason="merged")
    assert withdrawn.withdrawn_reason == "merged"
    assert len(_entries(fed, "proposal.withdrawn")) == 2


@pytest.mark.parametrize(
    ("phase", "to", "allowed"),
    [
        ("draft", "discussion", True),
        ("draft", "withdrawn", True),
        ("draft", "voting", False),
        ("draft", "closed", False),
        ("discussion", "voting", True),
        ("discussion", "withdrawn", True),
        ("discussion", "draft", False),
        ("discussion", "closed", False),
        ("voting", "closed", True),
        ("voting", "withdrawn", False),
        ("voting", "discussion", False),
        ("closed", "voting", False),
        ("closed", "withdrawn", False),
        ("withdrawn", "discussion", False),
    ],
)
def test_only_the_allowed_transitions_exist(phase: str, to: str, allowed: bool) -> None:
    assert (to in actions.TRANSITIONS[phase]) is allowed


def test_a_withdrawn_item_cannot_move_again(fed: Federation) -> None:
    proposal = actions.withdraw_proposal(actor=fed.member, proposal=draft(fed))
    with pytest.raises(ConflictError, match="cannot move to discussion; allowed: none"):
        actions.open_discussion(actor=fed.member, proposal=proposal)


def test_a_vote_cannot_be_opened_twice(fed: Federation, users: list[Any], clock: Any) -> None:
    proposal = to_voting(fed, users, clock)
    with pytest.raises(ConflictError, match="phase voting cannot move to voting"):
        actions.open_vote(actor=fed.member, proposal=proposal)


def test_a_member_of_another_council_cannot_propose_here(fed: Federation) -> None:
    from konsilo.web.councils.models import Member

    dairy_member = Member.objects.filter(memberships__council__key="dairy").first()
    assert dairy_member is not None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("dora", "dora@example.org", "pw-dora-123")
    from konsilo.web.councils import actions as council_actions

    council_actions.link_user(actor=fed.steward, member=dairy_member, user=user)
    with pytest.raises(PermissionDeniedError, match="only members of Bakery"):
        actions.create_proposal(actor=user, council=bakery(fed), title="x", text="y")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"text": "   "}, "text"),
        ({"decision_type": "coronation"}, "decision_type"),
        ({"ballot_shape": "lottery"}, "ballot_shape"),
        ({"ballot_shape": "consent"}, "ballot_shape"),
        ({"ballot_shape": "ranked", "options": [{"label": "only one"}]}, "options"),
        ({"ballot_shape": "ranked", "options": [{"label": "a"}, {"label": "a"}]}, "options"),
        ({"options": [{"label": "a"}, {"label": "b"}]}, "options"),
        (
            {"ballot_shape": "budget", "options": [{"label": "a", "cost": "x"}, {"label": "b"}]},
            "options[0].cost",
        ),
        (
            {
                "ballot_shape": "budget",
                "options": [{"label": "a", "cost": 1}, {"label": "b", "cost": 2}],
            },
            "budget",
        ),
        (
            {"ballot_shape": "dot_vote", "options": [{"label": "a"}, {"label": "b"}]},
            "dots",
        ),
        ({"decision_type": "amend_or_rescind"}, "supersedes"),
    ],
)
def test_a_bad_proposal_is_refused_naming_the_field(
    fed: Federation, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        draft(fed, **kwargs)
    assert caught.value.field == field
    assert not Proposal.objects.exists()


def test_an_amendment_competes_with_its_item_against_the_status_quo(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    main = draft(fed)
    alternative = actions.create_proposal(
        actor=fed.delegate,
        council=bakery(fed),
        title="Repair the old oven",
        text="Repair instead of buying.",
        alternative_to=main,
    )
    unseconded = actions.create_proposal(
        actor=users[2], council=bakery(fed), title="Sell bread only", text="x", alternative_to=main
    )
    to_discussion(fed, main, users)
    for user in (users[3], users[4]):
        actions.second_proposal(actor=user, proposal=alternative)
    actions.open_discussion(actor=fed.delegate, proposal=alternative)
    clock.shift(NOTICE)
    with pytest.raises(ConflictError, match="open that one"):
        actions.open_vote(actor=fed.delegate, proposal=alternative)
    opened = actions.open_vote(actor=fed.member, proposal=main)
    assert opened.method == "schulze"
    assert opened.rule["status_quo"] == "status_quo"
    assert opened.rule["options"] == ["status_quo", main.record_id, alternative.record_id]
    assert refresh(alternative).phase == "voting"
    assert refresh(unseconded).phase == "withdrawn"


def test_the_api_walks_an_item_from_draft_to_voting(
    fed: Federation, users: list[Any], clock: Any, member_api: Api
) -> None:
    status, item = member_api.post(
        "/orgs/fed/councils/bakery/proposals",
        {"title": "Rye Fridays", "text": "Bake rye on Fridays."},
    )
    assert status == 201
    assert item["phase"] == "draft"
    assert item["seconds_needed"] == 2
    pid = item["id"]
    for user in users[2:4]:
        assert api_for(user).post(f"/proposals/{pid}/seconds")[0] == 201
    status, item = member_api.post(f"/proposals/{pid}/transitions", {"to": "discussion"})
    assert (status, item["phase"]) == (200, "discussion")
    status, body = member_api.post(f"/proposals/{pid}/transitions", {"to": "voting"})
    assert status == 409
    assert body["error"]["field"] == "phase"
    assert "voting can open from" in body["error"]["message"]
    clock.shift(NOTICE)
    status, item = member_api.post(f"/proposals/{pid}/transitions", {"to": "voting"})
    assert (status, item["phase"], item["method"]) == (200, "voting", "motion")
    status, body = member_api.post(f"/proposals/{pid}/transitions", {"to": "closed"})
    assert status == 409
    assert "deadline" in body["error"]["message"]
    status, body = member_api.post(f"/proposals/{pid}/transitions", {"to": "limbo"})
    assert status == 422
    assert body["error"]["field"] == "to"


def test_the_openapi_schema_describes_the_decision_endpoints(member_api: Api) -> None:
    response = member_api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/orgs/{slug}/councils/{key}/proposals",
        "/api/v1/proposals/{pid}",
        "/api/v1/proposals/{pid}/transitions",
        "/api/v1/proposals/{pid}/ballot",
        "/api/v1/proposals/{pid}/result",
        "/api/v1/proposals/{pid}/comments/{cid}/hide",
        "/api/v1/proposals/{pid}/minority-reports/{rid}/signatures",
    ):
        assert path in paths
    assert set(paths["/api/v1/proposals/{pid}/ballot"]) == {"post", "put"}


def test_the_api_revises_withdraws_and_extends_with_permission_checks(
    fed: Federation, users: list[Any], clock: Any, member_api: Api, delegate_api: Api
) -> None:
    proposal = draft(fed)
    pid = proposal.record_id
    status, item = member_api.post(f"/proposals/{pid}/versions", {"text": "Two ovens."})
    assert (status, len(item["versions"])) == (201, 2)
    status, body = delegate_api.post(f"/proposals/{pid}/versions", {"text": "Mine now."})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = delegate_api.post(f"/proposals/{pid}/transitions", {"to": "withdrawn"})
    assert status == 403
    status, body = member_api.post(f"/proposals/{pid}/extension")
    assert (status, body["error"]["field"]) == (409, "phase")
    voting = to_voting(fed, users, clock, title="Another")
    status, item = delegate_api.post(f"/proposals/{voting.record_id}/extension")
    assert (status, item["extended"]) == (200, True)
    status, body = member_api.post(f"/proposals/{voting.record_id}/extension")
    assert status == 409
    status, item = member_api.post(f"/proposals/{pid}/transitions", {"to": "withdrawn"})
    assert (status, item["phase"]) == (200, "withdrawn")
