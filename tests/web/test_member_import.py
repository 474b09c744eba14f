"""Member import from CSV: all rows validated first, all-or-nothing, idempotent by email."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from konsilo.web.councils import member_import
from konsilo.web.councils.models import Member, Membership
from konsilo.web.ledger.models import Entry
from tests.personas import Federation

GOOD = (
    "name,email,base,secondary,categories\n"
    "Ada Nkosi,ada@example.org,press,dairy,woman\n"
    "Bo Larsen,bo@example.org,Dairy,,\n"
    "Cy Okafor,cy@example.org,bakery,,man;young worker\n"
)


def run(fed: Federation, text: str | bytes, **kwargs: object) -> member_import.ImportReport:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return member_import.import_members(
        actor=fed.steward, organisation=fed.org, stream=io.BytesIO(data), size=len(data), **kwargs
    )


def test_a_valid_file_imports_every_row(fed: Federation) -> None:
    before = Member.objects.count()
    report = run(fed, GOOD)
    assert (report.rows, report.created, report.rejected) == (3, 3, 0)
    assert Member.objects.count() == before + 3
    ada = Member.objects.get(email="ada@example.org")
    assert ada.categories == ["woman"]
    assert {(m.council.key, m.primary) for m in ada.memberships.all()} == {
        ("press", True),
        ("dairy", False),
    }
    # The base may be given by the council's name too, in any case.
    assert Member.objects.get(email="bo@example.org").memberships.get().council.key == "dairy"
    assert Entry.objects.filter(entry_type="member.joined", data__contains="Ada Nkosi").exists()


def test_reimporting_the_same_file_changes_nothing(fed: Federation) -> None:
    run(fed, GOOD)
    members, memberships, entries = (
        Member.objects.count(),
        Membership.objects.count(),
        Entry.objects.count(),
    )
    report = run(fed, GOOD)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert (Member.objects.count(), Membership.objects.count(), Entry.objects.count()) == (
        members,
        memberships,
        entries,
    )


def test_a_changed_row_updates_the_member_on_the_record(fed: Federation) -> None:
    run(fed, GOOD)
    report = run(
        fed, GOOD.replace("Bo Larsen,bo@example.org,Dairy", "Bo Larsen,bo@example.org,press")
    )
    assert (report.updated, report.unchanged) == (1, 2)
    bo = Member.objects.get(email="bo@example.org")
    assert bo.memberships.get(end__isnull=True).council.key == "press"
    assert Entry.objects.filter(entry_type="member.updated").count() == 1


def test_every_bad_row_is_reported_and_nothing_is_imported(fed: Federation) -> None:
    before = (Member.objects.count(), Entry.objects.count())
    text = (
        "name,email,base\n"
        "Ada,ada@example.org,press\n"
        ",nobody@example.org,press\n"
        "Bo,not-an-email,press\n"
        "Cy,ada@example.org,press\n"
        "Di,di@example.org,atlantis\n"
        "Ed,ed@example.org,north\n"
        "Fa,fa@example.org,\n"
        "Gu,gu@example.org,press,extra\n"
    )
    report = run(fed, text)
    found = {(e.line, e.column) for e in report.errors}
    assert found == {
        (3, "name"),
        (4, "email"),
        (5, "email"),
        (6, "base"),
        (7, "base"),
        (8, "base"),
        (9, "*"),
    }
    reasons = {e.line: e.reason for e in report.errors}
    assert "line 2" in reasons[5]
    assert "atlantis" in reasons[6]
    assert "delegate council" in reasons[7]
    assert (Member.objects.count(), Entry.objects.count()) == before


def test_skip_invalid_imports_the_good_rows_only(fed: Federation) -> None:
    report = run(fed, GOOD + "Dee,bad-email,press\n", skip_invalid=True)
    assert (report.created, report.rejected) == (3, 1)
    out = io.StringIO()
    member_import.write_rejects(report, out)
    assert "bad-email" in out.getvalue()
    assert "email" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        ("name,email,base\nZo\xe9,zoe@example.org,press\n".encode("latin-1"), "not UTF-8"),
        (b"name,email\nAda,ada@example.org\n", "missing column(s) base"),
        (b"name,email,base,shoe size\nAda,a@example.org,press,42\n", "unknown column"),
        (b"name,email,base,email\n", "appears twice"),
    ],
)
def test_unusable_files_get_one_clear_message(fed: Federation, data: bytes, expected: str) -> None:
    with pytest.raises(member_import.MemberImportError) as caught:
        run(fed, data)
    assert expected in caught.value.message


def test_a_file_over_the_limit_is_refused_before_it_is_read(fed: Federation) -> None:
    class Huge(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("a file over the limit must not be read")

    with pytest.raises(member_import.MemberImportError) as caught:
        member_import.import_members(
            actor=fed.steward,
            organisation=fed.org,
            stream=Huge(),
            size=1_000_000_000,
        )
    assert "1.0 GB" in caught.value.message


def test_semicolon_separated_spreadsheet_export_is_read(fed: Federation) -> None:
    report = run(fed, "Name;E-mail;Base council\nAda;ada@example.org;press\n")
    assert (report.created, report.rejected) == (1, 0)


def test_a_bom_and_windows_line_ends_are_accepted(fed: Federation) -> None:
    report = run(fed, "\ufeffname,email,base\r\nAda,ada@example.org,press\r\n")
    assert report.created == 1


def test_only_stewards_import(fed: Federation) -> None:
    from konsilo.web.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        member_import.import_members(
            actor=fed.member, organisation=fed.org, stream=io.BytesIO(GOOD.encode()), size=None
        )


def test_the_upload_page_reports_line_errors(fed: Federation) -> None:
    client = Client()
    client.force_login(fed.steward)
    upload = io.BytesIO(b"name,email,base\nAda,not-an-email,press\n")
    upload.name = "members.csv"
    response = client.post("/o/fed/import/", {"file": upload})
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content
    assert b"not an email address" in response.content


def test_the_upload_page_is_for_stewards_only(fed: Federation) -> None:
    client = Client()
    client.force_login(fed.member)
    assert client.get("/o/fed/import/").status_code == 403


def test_the_api_upload_imports_a_file(fed: Federation) -> None:
    client = Client()
    client.force_login(fed.steward)
    upload = io.BytesIO(GOOD.encode())
    upload.name = "members.csv"
    response = client.post("/api/v1/orgs/fed/members/import", {"file": upload})
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 3
