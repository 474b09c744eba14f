"""Import a member list from a spreadsheet's CSV: validate every row, then write all or none.

Columns: ``name``, ``email``, ``base`` (the primary base council, by key or name), and
optionally ``secondary`` (more base councils) and ``categories`` (self-declared, for
representation policies); several values in one cell are separated by ``;`` or ``|``.
Headers are matched case-insensitively and "base council" works as well as "base". The
delimiter may be a comma, a semicolon or a tab (what spreadsheets export).

Re-importing the same file changes nothing: members are matched by email.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from konsilo.web.councils import actions, selectors
from konsilo.web.councils.models import Council, Member, Membership, Organisation
from konsilo.web.errors import InvalidInputError
from konsilo.web.ledger.actions import append, append_many

REQUIRED = ("name", "email", "base")
OPTIONAL = ("secondary", "categories")
ALIASES = {
    "name": "name",
    "full_name": "name",
    "email": "email",
    "e-mail": "email",
    "email_address": "email",
    "base": "base",
    "base_council": "base",
    "primary_base": "base",
    "council": "base",
    "secondary": "secondary",
    "secondary_councils": "secondary",
    "secondary_bases": "secondary",
    "categories": "categories",
    "category": "categories",
}
SPLIT = re.compile(r"\s*[;|]\s*")


class MemberImportError(InvalidInputError):
    """The file as a whole cannot be read (encoding, header, size)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str
    raw: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    header: tuple[str, ...] = ()

    @property
    def rejected(self) -> int:
        return len({e.line for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str
    base: str
    secondary: tuple[str, ...]
    categories: tuple[str, ...]


# -- reading --------------------------------------------------------------------------------


def read_text(stream: IO[bytes], *, size: int | None, limit: int | None = None) -> str:
    """Read and decode the upload, refusing files that are too big or not UTF-8."""
    limit = limit or settings.KONSILO_MAX_IMPORT_BYTES
    if size is not None and size > limit:
        raise MemberImportError(
            f"file: the file is {_mb(size)}; the limit is {_mb(limit)}", field="file"
        )
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise MemberImportError(
            f"file: the file is larger than the limit of {_mb(limit)}", field="file"
        )
    if not data.strip():
        raise MemberImportError("file: the file is empty", field="file")
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MemberImportError(
            f"file: line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}); save the"
            " spreadsheet as 'CSV UTF-8'",
            field="file",
        ) from None


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n < 1_000_000_000 else f"{n / 1_000_000_000:.1f} GB"


def _normalise(header: str) -> str:
    return re.sub(r"[\s]+", "_", header.strip().lower())


def parse_rows(
    text: str,
) -> tuple[tuple[str, ...], list[tuple[int, dict[str, str], tuple[str, ...]]]]:
    """Split the CSV into (line number, cells by column, raw cells); check the header."""
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header_raw = next(reader)
    except StopIteration:
        raise MemberImportError("file: the file is empty", field="file") from None
    except csv.Error as exc:
        raise MemberImportError(f"file: line 1 is not valid CSV ({exc})", field="file") from None
    columns: list[str] = []
    for cell in header_raw:
        name = ALIASES.get(_normalise(cell))
        if name is None:
            raise MemberImportError(
                f"file: unknown column {cell.strip()!r}; the columns are name, email, base,"
                " secondary, categories",
                field="file",
            )
        if name in columns:
            raise MemberImportError(f"file: column {name!r} appears twice", field="file")
        columns.append(name)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise MemberImportError(
            f"file: missing column(s) {', '.join(missing)}; the header has"
            f" {', '.join(c.strip() for c in header_raw) or 'nothing'}",
            field="file",
        )
    rows: list[tuple[int, dict[str, str], tuple[str, ...]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            raw = tuple(cells)
            if len(cells) != len(columns):
                rows.append((line, {"__width__": str(len(cells))}, raw))
                continue
            rows.append((line, dict(zip(columns, (c.strip() for c in cells), strict=True)), raw))
    except csv.Error as exc:
        raise MemberImportError(
            f"file: line {reader.line_num} is not valid CSV ({exc})", field="file"
        ) from None
    return tuple(columns), rows


# -- validation -----------------------------------------------------------------------------


def validate(
    organisation: Organisation,
    columns: tuple[str, ...],
    rows: Iterable[tuple[int, dict[str, str], tuple[str, ...]]],
) -> tuple[list[Row], list[RowError]]:
    graph = selectors.load_graph(organisation)
    by_key = {c.key: c.key for c in Council.objects.filter(organisation=organisation)}
    by_name = {c.name.casefold(): c.key for c in Council.objects.filter(organisation=organisation)}
    multi = selectors.resolve_policy(organisation).value("membership.multi_base_membership")
    good: list[Row] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}

    def council(value: str, line: int, column: str, raw: tuple[str, ...]) -> str | None:
        key = by_key.get(value) or by_name.get(value.casefold())
        if key is None:
            errors.append(RowError(line, column, f"unknown council {value!r}", raw))
            return None
        if not graph.is_base(key):
            errors.append(
                RowError(line, column, f"{value!r} is a delegate council, not a base", raw)
            )
            return None
        return key

    for line, cells, raw in rows:
        if "__width__" in cells:
            errors.append(
                RowError(
                    line,
                    "*",
                    f"expected {len(columns)} fields, found {cells['__width__']}",
                    raw,
                )
            )
            continue
        before = len(errors)
        name = cells.get("name", "")
        if not name:
            errors.append(RowError(line, "name", "the name is empty", raw))
        elif len(name) > 200:
            errors.append(RowError(line, "name", "the name is longer than 200 characters", raw))
        email = cells.get("email", "").lower()
        if not actions.EMAIL_RE.match(email) or len(email) > 254:
            errors.append(RowError(line, "email", f"{email!r} is not an email address", raw))
        elif email in first_seen:
            errors.append(
                RowError(line, "email", f"{email} already appears on line {first_seen[email]}", raw)
            )
        else:
            first_seen[email] = line
        base_value = cells.get("base", "")
        base = None
        if not base_value:
            errors.append(RowError(line, "base", "every member needs a primary base council", raw))
        else:
            base = council(base_value, line, "base", raw)
        secondary: list[str] = []
        for value in SPLIT.split(cells.get("secondary", "")):
            if not value:
                continue
            key = council(value, line, "secondary", raw)
            if key is None:
                continue
            if key == base:
                errors.append(
                    RowError(line, "secondary", f"{value!r} is already the primary base", raw)
                )
            elif key not in secondary:
                secondary.append(key)
        if secondary and multi == "forbid":
            errors.append(
                RowError(
                    line,
                    "secondary",
                    "the policy membership.multi_base_membership forbids secondary bases",
                    raw,
                )
            )
        categories = tuple(sorted({c for c in SPLIT.split(cells.get("categories", "")) if c}))
        if len(errors) == before and base is not None:
            good.append(Row(line, name, email, base, tuple(sorted(secondary)), categories))
    return good, errors


# -- applying -------------------------------------------------------------------------------


def import_members(
    *,
    actor: actions.Actor,
    organisation: Organisation,
    stream: IO[bytes],
    size: int | None,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate the whole file, then import it in one transaction (or nothing at all).

    With ``skip_invalid`` the valid rows are imported and the report lists the others.
    """
    if actor is not None:
        actions._require_steward(actor, organisation)
    text = read_text(stream, size=size)
    columns, rows = parse_rows(text)
    good, errors = validate(organisation, columns, rows)
    report = ImportReport(rows=len(rows), errors=errors, header=columns)
    if errors and not skip_invalid:
        return report
    _apply(actor, organisation, good, report, progress)
    return report


@transaction.atomic(durable=True)
def _apply(
    actor: actions.Actor,
    organisation: Organisation,
    rows: list[Row],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    today = timezone.localdate()
    ident = actions.actor_id(actor, organisation)
    councils = {c.key: c for c in Council.objects.filter(organisation=organisation)}
    existing = {m.email: m for m in Member.objects.filter(organisation=organisation)}
    open_memberships: dict[int, dict[str, Membership]] = {}
    if existing:
        for ms in Membership.objects.filter(
            member__organisation=organisation, end__isnull=True
        ).select_related("council"):
            open_memberships.setdefault(ms.member_id, {})[ms.council.key] = ms

    new_rows = [r for r in rows if r.email not in existing]
    members = _insert_members(organisation, new_rows)
    memberships: list[tuple[int, int, bool]] = []
    entries = []
    for done, row in enumerate(new_rows, start=1):
        member = members[row.email]
        memberships.append((member.pk, councils[row.base].pk, True))
        memberships.extend((member.pk, councils[key].pk, False) for key in row.secondary)
        entries.append(
            (
                "member.joined",
                actions.member_entry(member, row.base, row.secondary, today),
                row.base,
            )
        )
        if progress and done % 1000 == 0:
            progress(1000)
    _insert_memberships(memberships, today)
    append_many(entries, organisation=organisation, actor=ident)
    report.created = len(new_rows)
    if progress:
        progress(len(new_rows) % 1000)

    for row in rows:
        member = existing.get(row.email)
        if member is None:
            continue
        changed = _update_existing(
            member, row, councils, open_memberships.get(member.pk, {}), today, organisation, ident
        )
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if progress:
            progress(1)


def _executemany(model: type[Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows with one prepared statement (no per-row model objects).

    Values are converted by each field's own ``get_db_prep_save`` so every backend stores
    exactly what the ORM would.
    """
    if not rows:
        return
    fields = [model._meta.get_field(c) for c in columns]
    quote = connection.ops.quote_name
    # Only identifiers from the model's own metadata, quoted by the backend; values are bound.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    prepared = [
        tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start : start + 5000])


def _insert_members(organisation: Organisation, rows: list[Row]) -> dict[str, Member]:
    """Insert the new members and return them by email, with their database ids."""
    now = timezone.now()
    fresh = [
        Member(organisation=organisation, name=r.name, email=r.email, categories=list(r.categories))
        for r in rows
    ]
    _executemany(
        Member,
        ["organisation", "public_id", "name", "email", "user", "status", "categories", "joined_at"],
        [
            (organisation.pk, m.public_id, m.name, m.email, None, m.status, m.categories, now)
            for m in fresh
        ],
    )
    ids = dict(
        Member.objects.filter(organisation=organisation, joined_at=now).values_list("email", "pk")
    )
    for member in fresh:
        member.pk = ids[member.email]
        member.joined_at = now
    return {m.email: m for m in fresh}


def _insert_memberships(rows: list[tuple[int, int, bool]], start: Any) -> None:
    _executemany(
        Membership,
        ["member", "council", "primary", "start", "end"],
        [(member, council, primary, start, None) for member, council, primary in rows],
    )


def _update_existing(  # noqa: PLR0917 (a private helper of _apply, called once)
    member: Member,
    row: Row,
    councils: dict[str, Council],
    current: dict[str, Membership],
    today: Any,
    organisation: Organisation,
    ident: str,
) -> bool:
    changed: dict[str, Any] = {}
    if member.name != row.name:
        member.name = row.name
        changed["name"] = row.name
    if sorted(member.categories) != list(row.categories):
        member.categories = list(row.categories)
        changed["categories"] = True  # the values themselves stay private
    if changed:
        member.save(update_fields=[k for k in ("name", "categories") if k in changed])
    primary = next((k for k, m in current.items() if m.primary), None)
    if primary != row.base:
        if primary is not None:
            current[primary].end = today
            current[primary].save(update_fields=["end"])
        if row.base in current:
            current[row.base].end = today
            current[row.base].save(update_fields=["end"])
        Membership.objects.create(
            member=member, council=councils[row.base], primary=True, start=today
        )
        changed["base"] = row.base
    wanted = set(row.secondary)
    have = {k for k, m in current.items() if not m.primary and k != row.base}
    for key in sorted(wanted - have):
        Membership.objects.create(member=member, council=councils[key], primary=False, start=today)
    for key in sorted(have - wanted):
        current[key].end = today
        current[key].save(update_fields=["end"])
    if wanted != have:
        changed["secondary"] = sorted(wanted)
    if changed:
        public = {k: v for k, v in changed.items() if k != "categories"}
        append(
            "member.updated",
            {"member": member.record_id, "changes": public, "on": today},
            organisation=organisation,
            council=row.base,
            actor=ident,
        )
    return bool(changed)


def write_rejects(report: ImportReport, out: IO[str]) -> None:
    """Write the rejected rows, as read, with the reasons in a last column."""
    writer = csv.writer(out)
    writer.writerow([*report.header, "error"])
    reasons: dict[int, list[str]] = {}
    raws: dict[int, tuple[str, ...]] = {}
    for error in report.errors:
        reasons.setdefault(error.line, []).append(f"{error.column}: {error.reason}")
        raws[error.line] = error.raw
    for line in sorted(reasons):
        writer.writerow([*raws[line], f"line {line}: " + "; ".join(reasons[line])])
