"""Discussion threads that are never deleted, moderation with reasons, minority reports."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from konsilo import canonical
from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions import actions, tasks
from konsilo.web.decisions.models import Comment, CoSignature, MinorityReport
from konsilo.web.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from konsilo.web.ledger.models import Entry, LongText
from tests.personas import Api, Federation
from tests.web.decisions_support import (
    START,
    WINDOW,
    api_for,
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


def test_members_comment_and_reply_in_threads(fed: Federation, users: list[Any]) -> None:
    proposal = draft(fed)
    first = actions.post_comment(actor=fed.delegate, proposal=proposal, text="Which oven?")
    reply = actions.post_comment(
        actor=fed.member, proposal=proposal, text="The electric one.", parent=first
    )
    assert reply.parent == first
    posted = Entry.objects.filter(organisation=fed.org, entry_type="comment.posted")
    assert posted.count() == 2
    data = canonical.loads(posted.order_by("pk").last().data)  # type: ignore[union-attr]
    assert data["parent"] == first.record_id
    assert LongText.objects.get(sha256=data["text_sha256"]).text == "The electric one."


def test_a_reply_to_another_items_comment_is_refused(fed: Federation) -> None:
    one, other = draft(fed), draft(fed, title="Another")
    comment = actions.post_comment(actor=fed.member, proposal=one, text="Here")
    with pytest.raises(InvalidInputError) as caught:
        actions.post_comment(actor=fed.member, proposal=other, text="There", parent=comment)
    assert caught.value.field == "parent"


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001])
def test_an_empty_or_huge_comment_is_refused(fed: Federation, text: str) -> None:
    with pytest.raises(InvalidInputError):
        actions.post_comment(actor=fed.member, proposal=draft(fed), text=text)
    assert not Comment.objects.exists()


def test_outsiders_cannot_comment(fed: Federation) -> None:
    with pytest.raises(PermissionDeniedError):
        actions.post_comment(actor=fed.outsider, proposal=draft(fed), text="Hello")


def test_a_withdrawn_items_discussion_is_closed(fed: Federation) -> None:
    proposal = actions.withdraw_proposal(actor=fed.member, proposal=draft(fed))
    with pytest.raises(ConflictError, match="withdrawn"):
        actions.post_comment(actor=fed.member, proposal=proposal, text="Too late")


def test_a_hidden_comment_stays_visible_as_hidden_with_its_reason(
    fed: Federation, users: list[Any], outsider_api: Api, member_api: Api
) -> None:
    proposal = draft(fed)
    to_discussion(fed, proposal, users)
    comment = actions.post_comment(actor=fed.delegate, proposal=proposal, text="Rude words")
    with pytest.raises(PermissionDeniedError, match="moderate"):
        actions.hide_comment(actor=fed.member, comment=comment, reason="rude")
    with pytest.raises(InvalidInputError, match="reason"):
        actions.hide_comment(actor=fed.steward, comment=comment, reason=" ")
    actions.hide_comment(actor=fed.steward, comment=comment, reason="insults a member")
    with pytest.raises(ConflictError, match="hidden already"):
        actions.hide_comment(actor=fed.steward, comment=comment, reason="again")
    assert Comment.objects.filter(pk=comment.pk).exists()
    hidden = Entry.objects.get(organisation=fed.org, entry_type="comment.hidden")
    assert canonical.loads(hidden.data)["reason"] == "insults a member"
    for api in (member_api, outsider_api):
        status, item = api.get(f"/proposals/{proposal.record_id}")
        assert status == 200
        (shown,) = item["comments"]
        assert shown["hidden"] is True
        assert shown["hidden_reason"] == "insults a member"
        assert shown["text"] == "Rude words"  # nothing is deleted: the text stays on record


def test_a_council_officer_may_moderate(fed: Federation, users: list[Any]) -> None:
    council_actions.assign_office(
        actor=fed.steward, member=fed.plain_member, kind="officer", council_key="bakery"
    )
    comment = actions.post_comment(actor=fed.delegate, proposal=draft(fed), text="spam")
    assert actions.hide_comment(actor=fed.member, comment=comment, reason="spam").hidden_at


def test_the_api_hides_a_comment_and_refuses_a_stranger(
    fed: Federation, users: list[Any], steward_api: Api, member_api: Api
) -> None:
    proposal = draft(fed)
    status, posted = member_api.post(f"/proposals/{proposal.record_id}/comments", {"text": "Hi"})
    assert status == 201
    path = f"/proposals/{proposal.record_id}/comments/{posted['id']}/hide"
    status, body = member_api.post(path, {"reason": "no"})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = steward_api.post(path, {"reason": "off topic"})
    assert (status, body) == (200, {"id": posted["id"], "hidden": True, "reason": "off topic"})
    status, body = steward_api.post(
        f"/proposals/{proposal.record_id}/comments/c-nonsense/hide", {"reason": "x"}
    )
    assert status == 404


def _closed(fed: Federation, users: list[Any], clock: Any, choices: list[str], **kw: Any) -> Any:
    proposal = to_voting(fed, users, clock, **kw)
    receipts = [
        actions.cast_ballot(actor=u, proposal=proposal, ballot={"choice": c})
        for u, c in zip(users, choices, strict=False)
    ]
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    return refresh(proposal), receipts


def test_members_who_did_not_prevail_file_and_cosign_a_minority_report(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    # dana yes, mia no, bakery2 yes, bakery3 abstain, bakery4 yes, bakery5 no: adopted.
    proposal, _ = _closed(fed, users, clock, ["yes", "no", "yes", "abstain", "yes", "no"])
    assert proposal.outcome == "adopted"
    with pytest.raises(PermissionDeniedError, match="voted against, abstained or objected"):
        actions.file_minority_report(actor=users[0], proposal=proposal, text="We won")
    report = actions.file_minority_report(
        actor=fed.member, proposal=proposal, text="The old oven can be repaired."
    )
    actions.cosign_minority_report(actor=users[3], report=report)
    actions.cosign_minority_report(actor=users[5], report=report)
    with pytest.raises(ConflictError, match="co-signed this report already"):
        actions.cosign_minority_report(actor=users[5], report=report)
    with pytest.raises(ConflictError, match="author"):
        actions.cosign_minority_report(actor=fed.member, report=report)
    with pytest.raises(PermissionDeniedError):
        actions.cosign_minority_report(actor=users[2], report=report)
    assert CoSignature.objects.filter(report=report).count() == 2
    filed = canonical.loads(
        Entry.objects.get(organisation=fed.org, entry_type="minority_report.filed").data
    )
    assert filed["author"] == fed.plain_member.record_id
    assert filed["travels_up"] is True
    assert LongText.objects.get(sha256=filed["text_sha256"]).text == report.text
    assert Entry.objects.filter(entry_type="minority_report.cosigned").count() == 2


def test_a_minority_report_waits_for_the_result(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    actions.cast_ballot(actor=fed.member, proposal=proposal, ballot={"choice": "no"})
    with pytest.raises(ConflictError, match="phase voting"):
        actions.file_minority_report(actor=fed.member, proposal=proposal, text="No!")


def test_a_member_who_did_not_vote_cannot_file(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal, _ = _closed(fed, users, clock, ["yes", "yes", "yes", "yes"])
    with pytest.raises(PermissionDeniedError, match="did not vote"):
        actions.file_minority_report(actor=users[5], proposal=proposal, text="x")
    with pytest.raises(PermissionDeniedError, match="census"):
        actions.file_minority_report(actor=fed.outsider, proposal=proposal, text="x")


def test_a_secret_voter_shows_dissent_with_the_receipt(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"secrecy.ballot": "secret"},
    )
    proposal, receipts = _closed(fed, users, clock, ["no", "no", "yes", "yes", "yes", "yes"])
    with pytest.raises(InvalidInputError, match="receipt"):
        actions.file_minority_report(actor=users[0], proposal=proposal, text="No")
    with pytest.raises(PermissionDeniedError):
        actions.file_minority_report(
            actor=users[2], proposal=proposal, text="No", receipt=receipts[2]
        )
    report = actions.file_minority_report(
        actor=users[0], proposal=proposal, text="Too expensive.", receipt=receipts[0]
    )
    actions.cosign_minority_report(actor=users[1], report=report, receipt=receipts[1])
    assert MinorityReport.objects.get(pk=report.pk).signatures.count() == 1


def test_minority_reports_can_be_turned_off_by_policy(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"minority.minority_report": False},
    )
    proposal, _ = _closed(fed, users, clock, ["yes", "no", "yes", "yes"])
    with pytest.raises(ConflictError, match="no minority reports"):
        actions.file_minority_report(actor=fed.member, proposal=proposal, text="x")


def test_the_api_files_and_signs_reports_and_shows_them_forever(
    fed: Federation, users: list[Any], clock: Any, outsider_api: Api
) -> None:
    proposal, _ = _closed(fed, users, clock, ["no", "yes", "yes", "no", "yes"])
    path = f"/proposals/{proposal.record_id}/minority-reports"
    status, body = api_for(users[0]).post(path, {"text": "Keep the old oven."})
    assert status == 201
    status, signed = api_for(users[3]).post(f"{path}/{body['id']}/signatures", {})
    assert (status, signed["signatures"]) == (201, 1)
    status, body = api_for(users[1]).post(path, {"text": "I won but complain"})
    assert status == 403
    status, item = outsider_api.get(f"/proposals/{proposal.record_id}")
    assert status == 200
    (report,) = item["minority_reports"]
    assert report["text"] == "Keep the old oven."
    assert report["signatures"] == ["Bakery Worker 3"]


def test_an_outsider_reads_public_items_but_not_drafts(
    fed: Federation, users: list[Any], outsider_api: Api, member_api: Api
) -> None:
    secret_draft = draft(fed)
    public = draft(fed, title="Public")
    to_discussion(fed, public, users)
    assert outsider_api.get(f"/proposals/{secret_draft.record_id}")[0] == 404
    assert member_api.get(f"/proposals/{secret_draft.record_id}")[0] == 200
    status, listed = outsider_api.get("/orgs/fed/councils/bakery/proposals")
    assert status == 200
    assert [p["title"] for p in listed] == ["Public"]
    status, listed = member_api.get("/orgs/fed/councils/bakery/proposals")
    assert {p["title"] for p in listed} == {"Public", "Buy a second oven"}
    status, body = outsider_api.post(
        "/orgs/fed/councils/bakery/proposals", {"title": "Mine", "text": "x"}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert outsider_api.post(f"/proposals/{public.record_id}/comments", {"text": "hi"})[0] == 403
    assert outsider_api.get("/proposals/p-not-an-id")[0] == 404
    assert outsider_api.get("/orgs/fed/councils/atlantis/proposals")[0] == 404


def test_an_anonymous_caller_must_log_in(anonymous_api: Api, fed: Federation) -> None:
    status, body = anonymous_api.get("/orgs/fed/councils/bakery/proposals")
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_the_get_of_an_unknown_proposal_is_not_found(fed: Federation) -> None:
    from konsilo.web.decisions import selectors

    with pytest.raises(NotFoundError):
        selectors.get_proposal(user=fed.member, public_id="p-00000000000000000000000000000000")
