"""``konsilo export ORG --out DIR``: the organisation's public record as files.

The layout (the record contract, §2; described for people in docs/record.md)::

    DIR/manifest.json      canonical JSON: format, organisation, origin, size, verifier_key,
                           exported_at
    DIR/entries.jsonl      line i = the exact bytes of entry i, then "\\n"
    DIR/checkpoints/       every signed checkpoint, <20-digit zero-padded size>.txt, as signed
    DIR/verifier.key       the verifier key line and "\\n"
    DIR/texts/<sha256>     each long text referenced by an entry (UTF-8 bytes)
    DIR/README.txt         what the files are and how to verify them

Pending entries are sequenced first. Everything streams: entries are read in chunks by
index, so a log of millions of entries exports in constant memory. The export covers the
tree of the last signed checkpoint when it starts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from konsilo import canonical
from konsilo.web.councils.models import Organisation
from konsilo.web.ledger import selectors
from konsilo.web.ledger.entries import format_time
from konsilo.web.ledger.models import Checkpoint, Entry, LongText
from konsilo.web.ledger.sequencer import SequencerRefusedError, sequence

FORMAT = "konsilo-export/1"
_CHUNK = 5_000
_HEX64 = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")

README = """\
konsilo public record export ({format})
Organisation: {slug}   Log origin: {origin}   Entries: {size}

manifest.json     what this export is (canonical JSON)
entries.jsonl     line i (counting from 0) is the exact bytes of record entry i: the leaf data
                  of the RFC 9162 Merkle tree (leaf hash SHA-256(0x00 || line without "\\n"))
checkpoints/      every checkpoint the log signed, one C2SP signed note per tree size
                  (file name: the size, 20 digits)
verifier.key      the log's public key (C2SP vkey: name+keyid+base64)
texts/<sha256>    the long texts that entries refer to by their SHA-256

To check it without trusting the server: `konsilo verify {dirname}` checks every signature,
that the entries hash to every checkpoint, that consecutive checkpoints are consistent, and
replays and recounts the decisions. Compare verifier.key with the key the organisation
publishes (https://<host>/log/{slug}/verifier.key).
"""


class ExportError(ValueError):
    """The export cannot be written; the message is one line for the operator."""


@dataclass
class ExportReport:
    size: int
    checkpoints: int
    texts: int
    refused: str | None = None


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty directory; choose a new one")


def export(*, slug: str, out: Path, progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write the record of organisation ``slug`` to the new or empty directory ``out``."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise ExportError(f"no organisation {slug!r}")
    _check_out(out)
    refused = None
    try:
        sequence(organisation)
    except SequencerRefusedError as exc:
        refused = str(exc)  # export what was signed; verify shows where it differs
    checkpoint = selectors.latest_checkpoint(organisation)
    if checkpoint is None:
        raise ExportError(f"the log of {slug!r} has no signed checkpoint yet")
    size = checkpoint.size
    origin = selectors.log_origin(organisation)
    vkey = selectors.verifier(organisation).vkey
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "checkpoints").mkdir()
        (out / "texts").mkdir()
    except OSError as exc:
        raise ExportError(f"{out}: cannot create the export: {exc.strerror}") from None

    texts = _write_entries(organisation, size, out, progress)
    checkpoints = 0
    notes = (
        Checkpoint.objects.filter(organisation=organisation, size__lte=size)
        .order_by("size")
        .values_list("size", "note")
    )
    for cp_size, note in notes.iterator(chunk_size=1000):
        (out / "checkpoints" / f"{cp_size:020d}.txt").write_bytes(note.encode())
        checkpoints += 1
    (out / "verifier.key").write_text(vkey + "\n", encoding="utf-8")
    manifest = {
        "format": FORMAT,
        "organisation": slug,
        "origin": origin,
        "size": size,
        "verifier_key": vkey,
        "exported_at": format_time(timezone.now().astimezone(dt.UTC)),
    }
    (out / "manifest.json").write_bytes(canonical.dumps(manifest))
    (out / "README.txt").write_text(
        README.format(format=FORMAT, slug=slug, origin=origin, size=size, dirname=out.name),
        encoding="utf-8",
    )
    return ExportReport(size=size, checkpoints=checkpoints, texts=texts, refused=refused)


def _write_entries(
    organisation: Organisation, size: int, out: Path, progress: Callable[[int], None] | None
) -> int:
    """Stream entries [0, size) in index order; write the long texts they refer to."""
    written_texts = 0
    expected = 0
    with (out / "entries.jsonl").open("wb") as lines:
        while expected < size:
            rows = list(
                Entry.objects.filter(
                    organisation=organisation,
                    index__gte=expected,
                    index__lt=min(size, expected + _CHUNK),
                )
                .order_by("index")
                .values_list("index", "body")
            )
            candidates: set[str] = set()
            for index, body in rows:
                if index != expected or body is None:
                    raise ExportError(
                        f"entry {expected} is missing from the stored record; the record of "
                        f"{organisation.slug!r} was changed outside konsilo"
                    )
                raw = bytes(body)
                lines.write(raw + b"\n")
                candidates.update(m.decode() for m in _HEX64.findall(raw))
                expected += 1
            if not rows:
                raise ExportError(
                    f"entry {expected} is missing from the stored record; the record of "
                    f"{organisation.slug!r} was changed outside konsilo"
                )
            written_texts += _write_texts(candidates, out / "texts")
            if progress is not None:
                progress(len(rows))
    return written_texts


def _write_texts(candidates: set[str], directory: Path) -> int:
    count = 0
    wanted = sorted(candidates)
    rows = (
        row
        for start in range(0, len(wanted), 500)
        for row in LongText.objects.filter(sha256__in=wanted[start : start + 500]).values_list(
            "sha256", "text"
        )
    )
    for sha256, text in rows:
        path = directory / sha256
        if path.exists():
            continue
        raw = text.encode("utf-8")
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise ExportError(f"long text {sha256} no longer has that SHA-256; it was changed")
        path.write_bytes(raw)
        count += 1
    return count
