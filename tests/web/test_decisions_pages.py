"""Decision pages without JavaScript: propose, second, discuss, vote, receipt, result."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions import actions, tasks
from konsilo.web.decisions.models import Ballot, Comment, Proposal, SecretBallot
from tests.personas import Federation
from tests.web.decisions_support import START, WINDOW, bakery_voters, draft, refresh, to_voting


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def users(fed: Federation) -> list[Any]:
    return bakery_voters(fed)


def _client(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _page(client: Client, proposal: Proposal) -> str:
    response = client.get(f"/p/{proposal.record_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_council_page_links_to_its_proposals(fed: Federation) -> None:
    html = _client(fed.member).get("/o/fed/c/bakery/").content.decode()
    assert 'href="/o/fed/c/bakery/proposals/"' in html


def test_a_member_proposes_through_the_form(fed: Federation) -> None:
    client = _client(fed.member)
    assert client.get("/o/fed/c/bakery/proposals/new/").status_code == 200
    response = client.post(
        "/o/fed/c/bakery/proposals/new/",
        {
            "title": "Choose a flour",
            "text": "Which flour do we buy?",
            "decision_type": "ordinary_motion",
            "ballot_shape": "ranked",
            "options": "Rye\nSpelt\n\nOat",
        },
    )
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert [o["label"] for o in proposal.options] == ["Rye", "Spelt", "Oat"]
    listing = client.get("/o/fed/c/bakery/proposals/").content.decode()
    assert "Choose a flour" in listing


def test_a_bad_form_is_answered_400_with_the_reason(fed: Federation) -> None:
    response = _client(fed.member).post(
        "/o/fed/c/bakery/proposals/new/", {"title": "", "text": "x"}
    )
    assert response.status_code == 400
    assert "title: expected some text" in response.content.decode()
    assert not Proposal.objects.exists()


def test_an_outsider_sees_no_draft_and_cannot_propose(fed: Federation) -> None:
    proposal = draft(fed)
    client = _client(fed.outsider)
    assert client.get(f"/p/{proposal.record_id}/").status_code == 404
    assert client.get("/o/fed/c/bakery/proposals/new/").status_code == 403
    response = client.post("/o/fed/c/bakery/proposals/new/", {"title": "x", "text": "y"})
    assert response.status_code == 403


def test_forms_carry_the_csrf_token_and_are_refused_without_it(
    fed: Federation, users: list[Any]
) -> None:
    proposal = draft(fed)
    client = _client(fed.delegate, csrf=True)
    html = _page(client, proposal)
    assert "csrfmiddlewaretoken" in html
    response = client.post(f"/p/{proposal.record_id}/step/", {"do": "second"})
    assert response.status_code == 403
    assert not proposal.seconds.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    response = client.post(
        f"/p/{proposal.record_id}/step/", {"do": "second", "csrfmiddlewaretoken": token[1]}
    )
    assert response.status_code == 302
    assert proposal.seconds.count() == 1


def test_seconding_and_putting_on_the_agenda_by_buttons(fed: Federation, users: list[Any]) -> None:
    proposal = draft(fed)
    assert "0 of 2 seconds" in _page(_client(fed.member), proposal)
    for user in users[2:4]:
        assert (
            _client(user).post(f"/p/{proposal.record_id}/step/", {"do": "second"}).status_code
            == 302
        )
    response = _client(fed.member).post(f"/p/{proposal.record_id}/step/", {"do": "discussion"})
    assert response.status_code == 302
    assert refresh(proposal).phase == "discussion"
    response = _client(fed.member).post(f"/p/{proposal.record_id}/step/", {"do": "voting"})
    assert response.status_code == 409
    assert "voting can open from" in response.content.decode()
    response = _client(fed.member).post(f"/p/{proposal.record_id}/step/", {"do": "dance"})
    assert response.status_code == 400


def test_comments_replies_and_hidden_comments_on_the_page(
    fed: Federation, users: list[Any]
) -> None:
    proposal = draft(fed)
    client = _client(fed.member)
    client.post(f"/p/{proposal.record_id}/comment/", {"text": "First thought"})
    first = Comment.objects.get()
    client.post(f"/p/{proposal.record_id}/comment/", {"text": "A reply", "parent": first.record_id})
    refused = client.post(
        f"/p/{proposal.record_id}/comments/{first.record_id}/hide/", {"reason": "x"}
    )
    assert refused.status_code == 403
    _client(fed.steward).post(
        f"/p/{proposal.record_id}/comments/{first.record_id}/hide/", {"reason": "off topic"}
    )
    html = _page(_client(fed.delegate), proposal)
    assert "Hidden by a moderator: off topic" in html
    assert "First thought" in html  # still readable, behind "Show the hidden text"
    assert "A reply" in html


def test_a_member_votes_changes_and_sees_the_result_with_its_rounds(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    client = _client(fed.member)
    html = _page(client, proposal)
    assert 'name="choice" value="yes"' in html
    assert "Cast my ballot" in html
    assert client.post(f"/p/{proposal.record_id}/vote/", {"choice": "no"}).status_code == 302
    html = _page(client, proposal)
    assert "You have voted." in html
    assert 'value="no" checked' in html
    assert client.post(f"/p/{proposal.record_id}/vote/", {"choice": "yes"}).status_code == 302
    assert Ballot.objects.get(proposal=proposal).content == {"choice": "yes"}
    assert client.post(f"/p/{proposal.record_id}/vote/", {}).status_code == 400
    for user in users[2:5]:
        _client(user).post(f"/p/{proposal.record_id}/vote/", {"choice": "yes"})
    clock.shift(WINDOW)
    assert client.post(f"/p/{proposal.record_id}/vote/", {"choice": "no"}).status_code == 409
    tasks.close_due_votes.call()
    html = _page(_client(fed.outsider), proposal)
    assert "<b>adopted</b>" in html
    assert "Round 1" in html
    assert "<td>Yes</td><td>4</td>" in html


def test_a_secret_ballot_shows_its_receipt_once_and_changes_with_it(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"secrecy.ballot": "secret"},
    )
    proposal = to_voting(fed, users, clock)
    client = _client(fed.member)
    response = client.post(f"/p/{proposal.record_id}/vote/", {"choice": "no"})
    assert response.status_code == 200
    html = response.content.decode()
    found = re.search(r'<p class="receipt" id="receipt">([A-Z2-7-]+)</p>', html)
    assert found is not None
    receipt = found[1]
    assert actions.receipt_hash(receipt) in html
    page = _page(client, proposal)
    assert receipt not in page
    assert 'name="receipt"' in page
    assert client.session.get("receipt") is None
    assert receipt not in str(dict(client.session.items()))
    response = client.post(f"/p/{proposal.record_id}/vote/", {"choice": "yes", "receipt": "nope"})
    assert response.status_code == 400
    response = client.post(f"/p/{proposal.record_id}/vote/", {"choice": "yes", "receipt": receipt})
    assert response.status_code == 302
    assert SecretBallot.objects.get(proposal=proposal).content == {"choice": "yes"}


@pytest.mark.parametrize(
    ("shape", "extra", "form", "expected"),
    [
        ("multi_option", {}, {"choice": "o2"}, {"choice": "o2"}),
        ("approval", {}, {"approve": ["o1", "o3"]}, {"approve": ["o1", "o3"]}),
        (
            "ranked",
            {},
            {"rank_o1": "2", "rank_o2": "1", "rank_o3": "2"},
            {"ranking": [["o2"], ["o1", "o3"]]},
        ),
        ("score", {}, {"score_o1": "7", "score_o3": "0"}, {"scores": {"o1": 7, "o3": 0}}),
        ("dot_vote", {"dots": 4}, {"dots_o2": "3"}, {"dots": {"o2": 3}}),
    ],
)
def test_every_ballot_form_makes_its_canonical_ballot(
    fed: Federation,
    users: list[Any],
    clock: Any,
    shape: str,
    extra: dict[str, Any],
    form: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    options = [{"label": "Rye"}, {"label": "Spelt"}, {"label": "Oat"}]
    proposal = to_voting(fed, users, clock, ballot_shape=shape, options=options, **extra)
    client = _client(fed.member)
    assert "Cast my ballot" in _page(client, proposal)
    assert client.post(f"/p/{proposal.record_id}/vote/", form).status_code == 302
    assert Ballot.objects.get(proposal=proposal).content == expected


def test_a_minority_report_is_filed_and_cosigned_on_the_page(
    fed: Federation, users: list[Any], clock: Any
) -> None:
    proposal = to_voting(fed, users, clock)
    for user, choice in zip(users, ["no", "yes", "yes", "no", "yes", "yes"], strict=True):
        actions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": choice})
    clock.shift(WINDOW)
    tasks.close_due_votes.call()
    response = _client(fed.delegate).post(
        f"/p/{proposal.record_id}/minority/", {"text": "The old oven still works."}
    )
    assert response.status_code == 302
    report = proposal.minority_reports.get()
    assert (
        _client(users[3])
        .post(f"/p/{proposal.record_id}/minority/{report.record_id}/sign/")
        .status_code
        == 302
    )
    assert _client(fed.member).post(f"/p/{proposal.record_id}/minority/").status_code == 403
    html = _page(_client(fed.outsider), proposal)
    assert "The old oven still works." in html
    assert "co-signed by Bakery Worker 3" in html


def test_a_get_to_a_form_endpoint_is_refused(fed: Federation) -> None:
    proposal = draft(fed)
    assert _client(fed.member).get(f"/p/{proposal.record_id}/vote/").status_code == 405
