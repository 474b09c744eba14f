"""Each persona may do exactly what its role allows, in the API and in the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.personas import Api, Federation


def test_outsider_cannot_see_that_the_organisation_exists(outsider_api: Api) -> None:
    status, body = outsider_api.get("/orgs/fed")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert outsider_api.get("/orgs")[1] == []


def test_anonymous_request_is_told_to_log_in(anonymous_api: Api) -> None:
    status, body = anonymous_api.get("/orgs/fed")
    assert status == 401
    assert body == {
        "error": {
            "code": "unauthenticated",
            "message": "log in or send an API token",
            "field": None,
        }
    }


@pytest.mark.parametrize("persona", ["member_api", "delegate_api", "steward_api"])
def test_members_delegates_and_stewards_read_the_structure(
    persona: str, request: pytest.FixtureRequest
) -> None:
    api: Api = request.getfixturevalue(persona)
    status, org = api.get("/orgs/fed")
    assert status == 200
    assert org["levels"] == ["workplace", "region", "congress"]
    status, councils = api.get("/orgs/fed/councils")
    assert status == 200
    assert {c["key"] for c in councils} == {
        "congress",
        "north",
        "south",
        "bakery",
        "press",
        "dairy",
    }


@pytest.mark.parametrize("persona", ["member_api", "delegate_api"])
def test_only_stewards_change_the_structure(persona: str, request: pytest.FixtureRequest) -> None:
    api: Api = request.getfixturevalue(persona)
    status, body = api.post(
        "/orgs/fed/councils",
        {"key": "mill", "name": "Mill", "level": "workplace", "parents": ["south"]},
    )
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_outsider_changing_structure_gets_not_found(outsider_api: Api) -> None:
    status, _ = outsider_api.post(
        "/orgs/fed/councils", {"key": "mill", "name": "Mill", "level": "workplace"}
    )
    assert status == 404


def test_only_stewards_see_contact_details(
    steward_api: Api, member_api: Api, fed: Federation
) -> None:
    member_id = fed.delegate_member.record_id
    assert steward_api.get(f"/orgs/fed/members/{member_id}")[1]["email"] == "bakery0@example.org"
    assert member_api.get(f"/orgs/fed/members/{member_id}")[1]["email"] is None


def test_a_member_sees_their_own_contact_details(delegate_api: Api, fed: Federation) -> None:
    member_id = fed.delegate_member.record_id
    assert delegate_api.get(f"/orgs/fed/members/{member_id}")[1]["email"] == "bakery0@example.org"


def test_session_writes_need_the_csrf_token(fed: Federation) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(fed.steward)
    response = client.post(
        "/api/v1/orgs/fed/councils",
        data='{"key": "mill", "name": "Mill", "level": "workplace", "parents": ["south"]}',
        content_type="application/json",
    )
    assert response.status_code == 403


def test_api_token_authenticates_scripts(fed: Federation) -> None:
    from django.test import Client

    from konsilo.web.accounts.models import ApiToken

    _, token = ApiToken.issue(user=fed.steward, name="script")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/orgs/fed/councils",
        data='{"key": "mill", "name": "Mill", "level": "workplace", "parents": ["south"]}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    bad = client.get("/api/v1/orgs/fed", HTTP_AUTHORIZATION="Bearer ksk_wrong")
    assert bad.status_code == 401


def test_a_token_records_its_last_use_to_the_minute_without_a_write_per_request(
    fed: Federation,
) -> None:
    import time_machine
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from konsilo.web.accounts.models import ApiToken

    row, token = ApiToken.issue(user=fed.steward, name="script")
    client = Client()
    start = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)

    def use() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/orgs/fed", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == 200
        return [q["sql"] for q in queries if "accounts_apitoken" in q["sql"]]

    with time_machine.travel(start, tick=False) as clock:
        assert any(q.startswith("UPDATE") for q in use())  # first use
        clock.shift(dt.timedelta(seconds=59))
        assert not any(q.startswith("UPDATE") for q in use())  # within the minute: no write
        row.refresh_from_db()
        assert row.last_used_at == start
        clock.shift(dt.timedelta(seconds=1))
        assert any(q.startswith("UPDATE") for q in use())
        row.refresh_from_db()
        assert row.last_used_at == start + dt.timedelta(minutes=1)
