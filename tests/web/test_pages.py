"""Server-rendered pages: login, the council tree, a council, a member's own page."""

from __future__ import annotations

from django.test import Client

from tests.personas import Federation


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_pages_need_a_login(fed: Federation) -> None:
    response = Client().get("/o/fed/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_logs_a_member_in(fed: Federation) -> None:
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "mia", "password": "pw-mia-123"})
    assert response.status_code == 302
    assert client.get("/accounts/me/").status_code == 200


def test_wrong_password_says_so(fed: Federation) -> None:
    response = Client().post("/accounts/login/", {"username": "mia", "password": "nope"})
    assert response.status_code == 200
    assert b"not right" in response.content


def test_tree_shows_seats_and_represented_members(fed: Federation) -> None:
    response = _client(fed.member).get("/o/fed/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "North Region" in html
    assert "represents 9" in html  # the region: primary members of its workplaces
    assert "6 members" in html  # the bakery
    assert "1 seat in North Region" in html


def test_council_page_shows_members_delegations_and_policy_sources(fed: Federation) -> None:
    response = _client(fed.member).get("/o/fed/c/bakery/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bakery Worker 3" in html
    assert "North Region" in html
    assert "platform default" in html
    assert "<details" in html  # policy sections open without JavaScript
    assert "bakery0@example.org" not in html  # contact details are for stewards


def test_steward_sees_contact_details_on_the_council_page(fed: Federation) -> None:
    html = _client(fed.steward).get("/o/fed/c/bakery/").content.decode()
    assert "bakery0@example.org" in html


def test_delegate_council_lists_delegations_received(fed: Federation) -> None:
    html = _client(fed.delegate).get("/o/fed/c/north/").content.decode()
    assert "Delegations received" in html
    assert "Bakery Worker 0" in html


def test_member_page_lists_councils_and_offices(fed: Federation) -> None:
    html = _client(fed.delegate).get("/accounts/me/").content.decode()
    assert "Bakery" in html
    assert "primary base" in html
    assert "Delegate in" in html


def test_outsider_gets_not_found_pages(fed: Federation) -> None:
    client = _client(fed.outsider)
    assert client.get("/o/fed/").status_code == 404
    assert client.get("/o/fed/c/bakery/").status_code == 404


def test_unknown_council_page_is_not_found(fed: Federation) -> None:
    response = _client(fed.member).get("/o/fed/c/atlantis/")
    assert response.status_code == 404
    assert b"atlantis" in response.content


def test_pages_are_readable_without_javascript(fed: Federation) -> None:
    html = _client(fed.member).get("/o/fed/").content.decode()
    assert "<script" not in html
    assert 'name="viewport"' in html
