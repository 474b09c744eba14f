"""A member votes on a phone in Debian's chromium, with JavaScript off."""

from __future__ import annotations

import os
from typing import Any

import pytest

from konsilo.web.councils import actions as council_actions
from konsilo.web.decisions.models import Ballot
from tests.personas import build_federation
from tests.web.decisions_support import bakery_voters, draft, to_discussion
from tests.web.test_browser import CHROMIUM, page

__all__ = ["page"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_a_member_votes_on_a_phone_and_changes_the_ballot(live_server: Any, page: Any) -> None:
    from konsilo.web.decisions import actions

    fed = build_federation()
    council_actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"agenda.min_notice": "P0D"},
    )
    users = bakery_voters(fed)
    proposal = draft(fed, author=fed.delegate)
    to_discussion(fed, proposal, users)
    actions.open_vote(actor=fed.delegate, proposal=proposal)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "pw-mia-123")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/o/fed/c/bakery/")
    page.click("text=Proposals and votes")
    page.click("text=Buy a second oven")
    assert page.locator("h1").inner_text() == "Buy a second oven"
    page.check("input[name=choice][value=no]")
    page.click("text=Cast my ballot")
    assert page.get_by_text("You have voted.").is_visible()
    assert Ballot.objects.get(proposal=proposal).content == {"choice": "no"}
    page.check("input[name=choice][value=yes]")
    page.click("text=Change my ballot")
    assert Ballot.objects.get(proposal=proposal).content == {"choice": "yes"}
    # Readable on the phone: nothing overflows its width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
