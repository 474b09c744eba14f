"""The one way anything reaches the record: ``append``, inside the caller's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from konsilo import canonical
from konsilo.web.ledger.models import Entry, LongText

if TYPE_CHECKING:
    from konsilo.web.councils.models import Organisation

MAX_ENTRY_BYTES = 65_535
# Room left for the fields the sequencer adds around the data (index, type, time, ...).
_ENVELOPE_BYTES = 512


class LedgerError(RuntimeError):
    """A change tried to reach the record in a way that would break it."""


def store_text(text: str) -> str:
    """Keep a long text by its SHA-256 (hex) and return the hash to put in an entry."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    LongText.objects.get_or_create(sha256=digest, defaults={"text": text})
    return digest


def _build(
    entry_type: str,
    data: Mapping[str, Any],
    *,
    organisation: Organisation,
    council: str,
    actor: str,
    now: Any,
) -> Entry:
    encoded = canonical.dumps_str(data)
    if len(encoded.encode("utf-8")) > MAX_ENTRY_BYTES - _ENVELOPE_BYTES:
        raise LedgerError(
            f"{entry_type}: the entry's data is {len(encoded.encode())} bytes; an entry holds at"
            f" most {MAX_ENTRY_BYTES - _ENVELOPE_BYTES}, so store long texts with store_text()"
        )
    return Entry(
        organisation=organisation,
        entry_type=entry_type,
        council=council,
        actor=actor,
        recorded_at=now,
        data=encoded,
    )


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise LedgerError("append() must run inside the action's transaction")


def append(
    entry_type: str,
    data: Mapping[str, Any],
    *,
    organisation: Organisation,
    council: str = "",
    actor: str = "",
) -> Entry:
    """Write one record entry in the current transaction; nothing changes off the record."""
    _require_transaction()
    entry = _build(
        entry_type,
        data,
        organisation=organisation,
        council=council,
        actor=actor,
        now=timezone.now(),
    )
    entry.save()
    return entry


def append_many(
    items: Iterable[tuple[str, Mapping[str, Any], str]],
    *,
    organisation: Organisation,
    actor: str = "",
    batch_size: int = 2000,
) -> int:
    """Write many entries (type, data, council) in the current transaction; returns the count."""
    _require_transaction()
    now = timezone.now()
    built = [
        _build(t, d, organisation=organisation, council=c, actor=actor, now=now)
        for t, d, c in items
    ]
    Entry.objects.bulk_create(built, batch_size=batch_size)
    return len(built)
