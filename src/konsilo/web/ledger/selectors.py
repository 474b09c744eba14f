"""Reads of the public record. The log is public: anyone may read what was signed, and
nothing beyond the last signed checkpoint (pending or unsigned data) is ever served.

Proofs are read from the stored tiles (`StoredHashReader`), never recomputed from the
leaves, and are checked against the signed checkpoint before they are handed out: if the
stored record no longer matches what was signed, the reader gets `RecordInconsistentError`
(HTTP 409) saying so, never a proof that would not verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from konsilo.record import (
    EMPTY_ROOT,
    MissingHashError,
    NoteError,
    ProofError,
    ReceiptError,
    Tile,
    Verifier,
    consistency_proof,
    create_receipt,
    encode_entry_bundle,
    inclusion_proof,
    inclusion_proof_ids,
    leaf_hash,
    parse_receipt,
    read_tile,
    tile_width,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from konsilo.web.councils.models import Organisation
from konsilo.web.errors import ConflictError, InvalidInputError, NotFoundError
from konsilo.web.ledger import keys
from konsilo.web.ledger.models import Checkpoint, Entry, LogState
from konsilo.web.ledger.store import (
    StoredHashReader,
    read_proof,
    signed_checkpoint,
    tiles_of,
)

logger = logging.getLogger("konsilo.record")


class RecordInconsistentError(ConflictError):
    """The stored record no longer proves against the last signed checkpoint."""

    default_code = "record_inconsistent"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def get_log_organisation(*, slug: str) -> Organisation:
    """The organisation whose public log is asked for (any visitor may read a log)."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise NotFoundError(f"no log for organisation {slug!r}", field="organisation")
    return organisation


def latest_checkpoint(organisation: Organisation) -> Checkpoint | None:
    return Checkpoint.objects.filter(organisation=organisation).order_by("-size").first()


def require_checkpoint(organisation: Organisation) -> Checkpoint:
    checkpoint = latest_checkpoint(organisation)
    if checkpoint is None:
        raise NotFoundError(
            f"the log of {organisation.slug!r} has no signed checkpoint yet", field="organisation"
        )
    return checkpoint


def checkpoint_of_size(organisation: Organisation, size: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(organisation=organisation, size=size).first()


def list_checkpoints(organisation: Organisation) -> Any:
    return Checkpoint.objects.filter(organisation=organisation).order_by("size")


def log_origin(organisation: Organisation) -> str:
    state = LogState.objects.filter(organisation=organisation).first()
    if state is None:
        raise NotFoundError(f"the log of {organisation.slug!r} is empty", field="organisation")
    return state.origin


def verifier(organisation: Organisation) -> Verifier:
    """The log's public key; its vkey is what the organisation publishes."""
    return keys.signer_for(log_origin(organisation)).verifier


def signed_size(organisation: Organisation) -> int:
    checkpoint = latest_checkpoint(organisation)
    return checkpoint.size if checkpoint else 0


def get_entry(organisation: Organisation, index: int) -> Entry:
    """A signed entry by its leaf index."""
    size = signed_size(organisation)
    if index < 0 or index >= size:
        raise InvalidInputError(
            f"index: expected an entry index from 0 to {size - 1} (the log has {size} signed "
            f"entries), got {index}",
            field="index",
        )
    entry = Entry.objects.filter(organisation=organisation, index=index).first()
    if entry is None or entry.body is None:
        raise _inconsistent(organisation, f"entry {index} is missing from the stored record")
    return entry


def _inconsistent(organisation: Organisation, message: str) -> RecordInconsistentError:
    text = (
        f"the stored record of {organisation.slug!r} no longer matches its last signed "
        f"checkpoint: {message}"
    )
    logger.error("%s", text)
    return RecordInconsistentError(text, field="index")


def _check_size(organisation: Organisation, size: int | None, field_name: str) -> int:
    latest = signed_size(organisation)
    if size is None:
        return latest
    if size < 0 or size > latest:
        raise InvalidInputError(
            f"{field_name}: expected a tree size from 0 to {latest} (the last signed "
            f"checkpoint), got {size}",
            field=field_name,
        )
    return size


@dataclass
class InclusionProof:
    index: int
    size: int
    entry: bytes
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes
    checkpoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "size": self.size,
            "entry": self.entry.decode(),
            "leaf_hash": b64(self.leaf_hash),
            "proof": [b64(h) for h in self.proof],
            "root": b64(self.root),
            "checkpoint": self.checkpoint,
        }


# The last signed size seen of each organisation's log (by id), only to choose which tiles to
# read together with the checkpoint: the size a proof is checked against is always the one
# read in that same statement, and a wrong guess costs one more query, never a wrong proof.
_guessed_sizes: dict[int, int] = {}


def prove_inclusion(
    organisation: Organisation, index: int, size: int | None = None
) -> InclusionProof:
    """The inclusion proof of entry ``index`` in the tree of ``size`` (default: latest signed).

    Against a signed size the proof is checked with the signed root; at any other size the
    root is read from the stored tiles (prove it with a consistency proof to a checkpoint).
    The latest checkpoint, the entry and (for the size last seen) the proof's tiles are read
    in one statement.
    """
    guess = size if size is not None else _guessed_sizes.get(organisation.pk, 0)
    tiles = tiles_of(inclusion_proof_ids(index, guess)) if 0 <= index < guess else ()
    latest, body, read = read_proof(organisation.pk, index, tiles)
    if latest is None:
        raise NotFoundError(
            f"the log of {organisation.slug!r} has no signed checkpoint yet", field="organisation"
        )
    latest_size, latest_root, latest_note = latest
    _guessed_sizes[organisation.pk] = latest_size
    if size is None:
        size = latest_size
    elif size < 0 or size > latest_size:
        raise InvalidInputError(
            f"size: expected a tree size from 0 to {latest_size} (the last signed "
            f"checkpoint), got {size}",
            field="size",
        )
    if index < 0 or index >= size:
        raise InvalidInputError(
            f"index: expected an entry index below the tree size {size}, got {index}",
            field="index",
        )
    if body is None:
        raise _inconsistent(organisation, f"entry {index} is missing from the stored record")
    reader = StoredHashReader(organisation.pk, tiles=read)
    if size == latest_size:
        signed: tuple[bytes, str] | None = (latest_root, latest_note)
    else:
        signed = signed_checkpoint(organisation.pk, size)
    leaf = leaf_hash(body)
    try:
        proof = inclusion_proof(index, size, reader)
        root = signed[0] if signed else tree_root(size, reader)
        verify_inclusion(index=index, size=size, leaf_hash=leaf, proof=proof, root=root)
    except (ProofError, MissingHashError) as exc:
        raise _inconsistent(
            organisation, f"entry {index} is not proven in the tree of size {size}: {exc}"
        ) from None
    return InclusionProof(
        index=index,
        size=size,
        entry=body,
        leaf_hash=leaf,
        proof=proof,
        root=root,
        checkpoint=signed[1] if signed else None,
    )


def prove_consistency(
    organisation: Organisation, old_size: int, new_size: int | None = None
) -> dict[str, Any]:
    """The consistency proof from ``old_size`` to ``new_size`` (default: latest signed)."""
    new_size = _check_size(organisation, new_size, "new")
    old_size = _check_size(organisation, old_size, "old")
    if old_size > new_size:
        raise InvalidInputError(
            f"old: expected at most the new size {new_size}, got {old_size}", field="old"
        )
    reader = StoredHashReader(organisation.pk)
    old_cp, new_cp = (checkpoint_of_size(organisation, s) for s in (old_size, new_size))
    try:
        proof = consistency_proof(old_size, new_size, reader)
        old_root = (
            EMPTY_ROOT
            if old_size == 0
            else (bytes(old_cp.root) if old_cp else tree_root(old_size, reader))
        )
        new_root = bytes(new_cp.root) if new_cp else tree_root(new_size, reader)
        verify_consistency(
            old_size=old_size, new_size=new_size, old_root=old_root, new_root=new_root, proof=proof
        )
    except (ProofError, MissingHashError) as exc:
        raise _inconsistent(
            organisation, f"size {old_size} is not proven consistent with size {new_size}: {exc}"
        ) from None
    return {
        "old": old_size,
        "new": new_size,
        "old_root": b64(old_root),
        "new_root": b64(new_root),
        "proof": [b64(h) for h in proof],
        "old_checkpoint": old_cp.note if old_cp else None,
        "new_checkpoint": new_cp.note if new_cp else None,
    }


def receipt(organisation: Organisation, index: int) -> str:
    """A c2sp.org/tlog-proof@v1 receipt of entry ``index`` in the latest signed checkpoint."""
    proof = prove_inclusion(organisation, index)
    assert proof.checkpoint is not None
    return create_receipt(index, proof.proof, proof.checkpoint)


# -- tiles -----------------------------------------------------------------------------------


def tile_data(organisation: Organisation, tile: Tile) -> bytes | None:
    """The bytes of a hash tile or entry bundle of the signed tree, None if it has none."""
    size = signed_size(organisation)
    width = tile_width(tile.level, tile.index, size)
    if width == 0 or tile.width > width or (tile.is_full and width != tile.width):
        return None
    if tile.entries:
        start = tile.index * 256
        bodies = list(
            Entry.objects.filter(
                organisation=organisation, index__gte=start, index__lt=start + tile.width
            )
            .order_by("index")
            .values_list("body", flat=True)
        )
        if len(bodies) != tile.width or any(b is None for b in bodies):
            raise _inconsistent(organisation, f"{tile.path}: entries are missing")
        return encode_entry_bundle([bytes(b) for b in bodies])
    try:
        return read_tile(tile, StoredHashReader(organisation.pk))
    except MissingHashError as exc:
        raise _inconsistent(organisation, f"{tile.path}: {exc}") from None


# -- the member's lookup ---------------------------------------------------------------------


@dataclass
class Lookup:
    """What the lookup page shows: the entry, its proof, the checkpoint, and the verdict."""

    query: str
    kind: str = ""  # "index", "receipt" (a tlog-proof file) or "code" (a ballot receipt code)
    proof: InclusionProof | None = None
    checkpoint: str | None = None
    ok: bool = False
    reason: str = ""
    receipt: str | None = None

    @property
    def entry_json(self) -> str:
        if self.proof is None:
            return ""
        return json.dumps(json.loads(self.proof.entry), indent=2, ensure_ascii=False)


def _find_receipt_code(organisation: Organisation, code: str) -> int | None:
    digests = [hashlib.sha256(code.encode("utf-8")).hexdigest()]
    if re.fullmatch(r"[0-9a-f]{64}", code):
        digests.append(code)
    size = signed_size(organisation)
    for digest in digests:
        index = (
            Entry.objects.filter(
                organisation=organisation,
                entry_type="ballot.cast",
                index__isnull=False,
                index__lt=size,
                data__contains=f'"receipt":"{digest}"',
            )
            .order_by("-index")
            .values_list("index", flat=True)
            .first()
        )
        if index is not None:
            return index
    return None


def look_up(organisation: Organisation, query: str) -> Lookup:
    """Check an entry index, a pasted tlog-proof receipt, or a secret ballot's receipt code."""
    text = query.replace("\r\n", "\n").strip()
    result = Lookup(query=text)
    if not text:
        result.reason = "Enter an entry number, a receipt code or a receipt file's text."
        return result
    if text.startswith("c2sp.org/tlog-proof@v1"):
        result.kind = "receipt"
        receipt_text = text + "\n"
        try:
            parsed = parse_receipt(receipt_text)
        except ReceiptError as exc:
            result.reason = f"This is not a readable receipt: {exc}"
            return result
        result.checkpoint = parsed.checkpoint_note
        try:
            result.proof = prove_inclusion(organisation, parsed.index)
        except (InvalidInputError, RecordInconsistentError) as exc:
            result.reason = f"The receipt names entry {parsed.index}, but {exc.message}"
            return result
        try:
            checkpoint = verify_receipt(
                receipt_text, entry=result.proof.entry, verifier=verifier(organisation)
            )
        except (ReceiptError, NoteError, ValueError) as exc:
            result.reason = f"Your receipt does not check out: {exc}"
            return result
        try:
            prove_consistency(organisation, checkpoint.size)
        except (InvalidInputError, RecordInconsistentError) as exc:
            result.reason = (
                f"The receipt's checkpoint (size {checkpoint.size}) is signed, but the log "
                f"cannot prove it still contains it: {exc.message}"
            )
            return result
        result.ok = True
        result.reason = (
            f"Your receipt checks out: entry {parsed.index} is in the log, proven against the "
            f"checkpoint of size {checkpoint.size} signed by {organisation.slug}'s log key, "
            f"and that checkpoint is consistent with the latest one."
        )
        return result
    if text.isdigit():
        result.kind = "index"
        index = int(text)
    else:
        result.kind = "code"
        found = _find_receipt_code(organisation, text)
        if found is None:
            result.reason = (
                "No ballot with this receipt code is in the signed log. Check the code; a ballot "
                "cast in the last few seconds appears once the next checkpoint is signed."
            )
            return result
        index = found
    try:
        result.proof = prove_inclusion(organisation, index)
    except (InvalidInputError, RecordInconsistentError) as exc:
        result.reason = exc.message
        return result
    result.checkpoint = result.proof.checkpoint
    assert result.checkpoint is not None
    result.receipt = create_receipt(index, result.proof.proof, result.checkpoint)
    result.ok = True
    what = "Your ballot" if result.kind == "code" else f"Entry {index}"
    result.reason = (
        f"{what} checks out: entry {index} is proven in the log of "
        f"{result.proof.size} entries, against the checkpoint signed by the log key."
    )
    return result
