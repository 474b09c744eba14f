"""The exact bytes of a sequenced entry (the record contract, §1).

One canonical JSON object (konsilo.canonical: sorted keys, UTF-8, no whitespace)::

    {"actor":"…","council":"…","data":{…},"index":17,"org":"<slug>",
     "time":"2026-12-01T19:32:47.123456Z","type":"council.created"}

The action's ``data`` is stored already canonical, so the envelope is assembled around it in
sorted key order; `entry_bytes` gives the same bytes as ``canonical.dumps`` of the whole
object (the tests check both ways).
"""

from __future__ import annotations

import datetime as dt
from json.encoder import encode_basestring  # type: ignore[attr-defined]

from konsilo.record import MAX_ENTRY_SIZE


class EntryTooLargeError(ValueError):
    """An entry's bytes exceed what an entry bundle holds (65,535 bytes)."""


def format_time(value: dt.datetime) -> str:
    """UTC with microseconds and a Z: ``2026-12-01T19:32:47.123456Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# json.dumps(value, ensure_ascii=False) of a string, without its per-call set-up.
_s = encode_basestring


def entry_bytes(
    *,
    index: int,
    entry_type: str,
    organisation: str,
    council: str,
    actor: str,
    time: str,
    data: str,
) -> bytes:
    """Return the entry's canonical bytes; ``data`` is the action's canonical JSON text."""
    body = (
        f'{{"actor":{_s(actor)},"council":{_s(council)},"data":{data},"index":{index},'
        f'"org":{_s(organisation)},"time":{_s(time)},"type":{_s(entry_type)}}}'
    ).encode()
    if len(body) > MAX_ENTRY_SIZE:
        raise EntryTooLargeError(
            f"entry {index} ({entry_type}): {len(body):,} bytes is over the limit of "
            f"{MAX_ENTRY_SIZE:,} bytes; store long texts with store_text()"
        )
    return body
