"""A small federation and the fixed personas of the web and CLI tests: steward, delegate, member,
outsider (healthchecks' alice/bob/charlie pattern)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from konsilo.web.councils import actions
from konsilo.web.councils.models import Member, Organisation


@dataclass
class Federation:
    org: Organisation
    steward: Any
    delegate: Any
    member: Any
    outsider: Any
    delegate_member: Member
    plain_member: Member


class Api:
    """A JSON client for /api/v1/ acting as one persona."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        data = json.loads(response.content) if response.content else None
        return response.status_code, data

    def get(self, path: str) -> tuple[int, Any]:
        return self._call("get", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self._call("post", path, body if body is not None else {})

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self._call("put", path, body)

    def patch(self, path: str, body: Any) -> tuple[int, Any]:
        return self._call("patch", path, body)


def build_federation() -> Federation:
    users = get_user_model().objects
    steward = users.create_user("stella", "stella@example.org", "pw-stella-123")
    delegate = users.create_user("dana", "dana@example.org", "pw-dana-123")
    member = users.create_user("mia", "mia@example.org", "pw-mia-123")
    outsider = users.create_user("otto", "otto@example.org", "pw-otto-123")
    org = actions.create_organisation(
        actor=steward,
        slug="fed",
        name="Test Federation",
        levels=["workplace", "region", "congress"],
    )
    actions.add_council(
        actor=steward, organisation=org, key="congress", name="Congress", level="congress"
    )
    for region in ("north", "south"):
        actions.add_council(
            actor=steward,
            organisation=org,
            key=region,
            name=f"{region.title()} Region",
            level="region",
            parents=["congress"],
        )
    for key, region in (("bakery", "north"), ("press", "north"), ("dairy", "south")):
        actions.add_council(
            actor=steward,
            organisation=org,
            key=key,
            name=key.title(),
            level="workplace",
            parents=[region],
        )
    sizes = {"bakery": 6, "press": 3, "dairy": 4}
    created: dict[str, list[Member]] = {}
    for key, size in sizes.items():
        created[key] = [
            actions.add_member(
                actor=steward,
                organisation=org,
                name=f"{key.title()} Worker {n}",
                email=f"{key}{n}@example.org",
                base=key,
            )
            for n in range(size)
        ]
    delegate_member, plain_member = created["bakery"][0], created["bakery"][1]
    actions.link_user(actor=steward, member=delegate_member, user=delegate)
    actions.link_user(actor=steward, member=plain_member, user=member)
    actions.assign_office(
        actor=steward,
        member=delegate_member,
        kind="delegate",
        council_key="north",
        delegation_from="bakery",
    )
    return Federation(
        org=org,
        steward=steward,
        delegate=delegate,
        member=member,
        outsider=outsider,
        delegate_member=delegate_member,
        plain_member=plain_member,
    )


@pytest.fixture
def fed(db: Any) -> Federation:
    return build_federation()


def _api_for(user: Any) -> Api:
    client = Client()
    client.force_login(user)
    return Api(client)


@pytest.fixture
def steward_api(fed: Federation) -> Api:
    return _api_for(fed.steward)


@pytest.fixture
def delegate_api(fed: Federation) -> Api:
    return _api_for(fed.delegate)


@pytest.fixture
def member_api(fed: Federation) -> Api:
    return _api_for(fed.member)


@pytest.fixture
def outsider_api(fed: Federation) -> Api:
    return _api_for(fed.outsider)


@pytest.fixture
def anonymous_api(fed: Federation) -> Api:
    return Api(Client())
