"""The federation's pages: the sent item with every delegation's mandate and vote and the
member-level support, sending from the page, a delegate's vote, and the report-back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from konsilo.web.decisions import tasks
from konsilo.web.federation.models import Breach, Sending
from tests.personas import Federation
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


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_item_page_shows_every_mandate_vote_and_the_member_level_support(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 4 + ["no"] * 2)
    vote(instruction_item(sending, "press"), users_of("press", fed), ["no", "no", "yes"])
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    page = _client(fed.member).get(f"/p/{item.record_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Member-level support below north: 4 no, 5 yes (9 of 9 members" in html
    assert "bakery-&gt;north" in html
    assert "press-&gt;north" in html
    assert html.count("cast by the platform") == 2
    base_page = _client(fed.member).get(f"/p/{instruction_item(sending, 'bakery').record_id}/")
    assert "This is an <b>instruction vote</b>" in base_page.content.decode()


def _local(moment: dt.datetime) -> str:
    """A moment as the page's datetime-local field sends it (the server's zone, UTC here)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_the_page_sends_an_item_and_says_which_base_is_short_of_time(
    fed: Federation, clock: Any
) -> None:
    item = north_item(fed)
    client = _client(fed.delegate)
    assert "Send to the bases" in client.get(f"/p/{item.record_id}/").content.decode()
    too_soon = _local(START + dt.timedelta(days=7))
    refused = client.post(f"/p/{item.record_id}/send/", {"opens_at": too_soon})
    assert refused.status_code == 400
    assert "bakery (workplace)" in refused.content.decode()
    assert not Sending.objects.exists()
    in_time = _local(START + dt.timedelta(days=16))
    sent = client.post(f"/p/{item.record_id}/send/", {"opens_at": in_time})
    assert sent.status_code == 302
    assert Sending.objects.get().proposal == item


def test_a_delegate_casts_from_the_page_and_a_breach_shows_on_the_report_back(
    fed: Federation, clock: Any
) -> None:
    set_policy(fed, "council", "bakery", {"mandate.enforcement": "delegate_casts_checked"})
    item = north_item(fed)
    sending = send(fed, item)
    open_bases(clock)
    vote(instruction_item(sending, "bakery"), users_of("bakery", fed), ["yes"] * 4)
    clock.move_to(DEADLINE)
    tasks.close_due_votes.call()
    clock.move_to(OPENS)
    client = _client(fed.delegate)
    assert "Cast Bakery's vote" in client.get(f"/p/{item.record_id}/").content.decode()
    cast = client.post(
        f"/p/{item.record_id}/delegation-vote/", {"delegation": "bakery", "choice": "no"}
    )
    assert cast.status_code == 302
    assert Breach.objects.count() == 1
    back = client.get("/o/fed/report-back/").content.decode()
    assert "A shared delivery van" in back
    assert "Mandate breached" in back
    assert _client(fed.outsider).get("/o/fed/report-back/").status_code == 403


def test_a_delegates_own_page_links_to_the_report_back(fed: Federation) -> None:
    page = _client(fed.delegate).get("/accounts/me/").content.decode()
    assert "/o/fed/report-back/" in page
    assert "/o/fed/report-back/" not in _client(fed.member).get("/accounts/me/").content.decode()
