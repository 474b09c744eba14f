"""Request and response shapes of the JSON API (they make its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    error: ErrorDetail


class OrganisationIn(Schema):
    slug: str = Field(..., description="lowercase letters, digits and dashes")
    name: str
    levels: list[str] = Field(..., description="level names, lowest (base) first")
    parent_rule: str = "tree"
    preset: str | None = None
    timezone: str = "UTC"


class LevelsIn(Schema):
    levels: list[str]


class OrganisationOut(Schema):
    slug: str
    name: str
    levels: list[str]
    parent_rule: str
    timezone: str
    preset: str | None
    councils: int
    members: int
    you_are_steward: bool


class CouncilIn(Schema):
    key: str
    name: str
    level: str
    parents: list[str] = []


class CouncilPatch(Schema):
    name: str


class DelegationOut(Schema):
    id: int
    from_council: str
    to_council: str
    seats: int
    represented: int
    delegates: list[str]


class CouncilOut(Schema):
    key: str
    name: str
    level: str
    is_base: bool
    parents: list[str]
    children: list[str]
    represented: int
    members: int


class DelegationIn(Schema):
    from_council: str
    to_council: str


class MemberIn(Schema):
    name: str
    email: str
    base: str
    secondary: list[str] = []
    categories: list[str] = []


class MembershipOut(Schema):
    id: int
    council: str
    primary: bool
    start: dt.date
    end: dt.date | None


class MemberOut(Schema):
    id: str
    name: str
    email: str | None = Field(None, description="only stewards see contact details")
    status: str
    memberships: list[MembershipOut]


class MembershipIn(Schema):
    council: str
    start: dt.date | None = None


class PrimaryIn(Schema):
    council: str
    on: dt.date | None = None


class EndIn(Schema):
    on: dt.date | None = None


class StatusIn(Schema):
    status: str


class OfficeIn(Schema):
    member: str
    kind: str
    council: str
    delegation_from: str | None = None
    start: dt.date | None = None
    scheduled_end: dt.date | None = None


class OfficeOut(Schema):
    id: int
    member: str
    member_name: str
    kind: str
    council: str
    delegation_from: str | None
    start: dt.date
    scheduled_end: dt.date | None


class PolicyValueOut(Schema):
    name: str
    value: Any
    source: str = Field(
        ..., description="item, decision_type, council, organisation, preset or default"
    )
    label: str


class PolicyIn(Schema):
    scope: str = Field(..., description="organisation, council or decision_type")
    target: str = Field("", description="the council key or the decision type's name")
    set: dict[str, Any] = {}
    unset: list[str] = []
    preset: str | None = None
    reason: str = ""


class PolicyVersionOut(Schema):
    scope: str
    target: str
    number: int
    preset: str | None
    values: dict[str, Any]
    reason: str
    created_at: dt.datetime


class PresetOut(Schema):
    name: str
    title: str
    description: str
    values: dict[str, Any]


class ParameterOut(Schema):
    name: str
    section: str
    kind: str
    default: Any
    choices: list[str] | None
    description: str


class CensusIn(Schema):
    on: dt.date | None = None


class CensusOut(Schema):
    on: dt.date
    basis: str
    represented: dict[str, int]


class ImportReport(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[dict[str, Any]]
