"""Offline receipts in the c2sp.org/tlog-proof@v1 format.

A receipt proves that one record entry is in the log: the entry's index, its inclusion
proof, and the log's signed checkpoint, verbatim with any witness cosignatures::

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <n>
    <base64 hash>        (zero or more, from the leaf's sibling upward)
    <blank line>
    <checkpoint note>

A voter keeps the receipt of their ballot; anyone with the log's verifier key can check it
without the server. The size and root come from the receipt's own signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from konsilo.record.checkpoint import Checkpoint, open_checkpoint
from konsilo.record.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from konsilo.record.note import Verifier, open_note

__all__ = [
    "RECEIPT_HEADER",
    "Receipt",
    "ReceiptError",
    "create_receipt",
    "parse_receipt",
    "verify_receipt",
]

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every receipt."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class ReceiptError(ValueError):
    """A receipt is malformed or does not prove its entry; the message says which line."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(value: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ReceiptError(f"{field}: expected base64, got {value!r}") from None
    if _b64(raw) != value:
        raise ReceiptError(f"{field}: expected canonical base64, got {value!r}")
    return raw


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt: index, inclusion proof, the checkpoint note, and unauthenticated extra."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    @property
    def text(self) -> str:
        """The receipt in the c2sp.org/tlog-proof@v1 format."""
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64(h) for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint_note


def create_receipt(
    index: int, proof: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    """Return the receipt for the entry at ``index``, proven in the signed ``checkpoint_note``.

    ``extra`` is opaque application data that the verifier must not trust (it is not
    signed), e.g. the context needed to rebuild the entry.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 1 << 64:
        raise ReceiptError(f"index: expected a leaf index 0 to 2^64-1, got {index!r}")
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ReceiptError(f"proof[{i}]: expected a {HASH_SIZE}-byte hash, got {len(h)} bytes")
    if not checkpoint_note.endswith("\n") or "\n\n" not in checkpoint_note:
        raise ReceiptError("checkpoint_note: expected a signed checkpoint note")
    return Receipt(index, tuple(bytes(h) for h in proof), checkpoint_note, extra).text


def parse_receipt(text: str) -> Receipt:
    """Parse a receipt (no verification: see `verify_receipt`)."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ReceiptError("receipt: expected an empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != RECEIPT_HEADER:
        raise ReceiptError(f"receipt line 1: expected {RECEIPT_HEADER!r}, got {lines[0]!r}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = _unb64(lines[pos][len("extra ") :], f"receipt line {pos + 1} (extra)")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        got = lines[pos] if pos < len(lines) else "nothing"
        raise ReceiptError(f"receipt line {pos + 1}: expected 'index <n>', got {got!r}")
    number = lines[pos][len("index ") :]
    if not _DECIMAL.fullmatch(number) or int(number) >= 1 << 64:
        raise ReceiptError(
            f"receipt line {pos + 1}: expected a decimal index without leading zeros, "
            f"got {number!r}"
        )
    proof = []
    for i, line in enumerate(lines[pos + 1 :], start=pos + 2):
        h = _unb64(line, f"receipt line {i} (proof hash)")
        if len(h) != HASH_SIZE:
            raise ReceiptError(
                f"receipt line {i} (proof hash): expected {HASH_SIZE} bytes, got {len(h)}"
            )
        proof.append(h)
    return Receipt(int(number), tuple(proof), note, extra)


def verify_receipt(
    text: str,
    *,
    entry: bytes,
    verifier: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> Checkpoint:
    """Check that ``entry`` is in the log at the receipt's index; return the checkpoint.

    Checks, in order: the format; the checkpoint's origin is the log key's name and the
    log's signature verifies; at least ``quorum`` of the ``witnesses`` cosigned it; the
    inclusion proof leads from SHA-256(0x00 || entry) to the checkpoint's own root at its
    own size. Raises `ReceiptError`, or the note error that rejected the checkpoint.
    """
    receipt = parse_receipt(text)
    checkpoint = open_checkpoint(receipt.checkpoint_note, verifier)
    if quorum:
        opened = open_note(receipt.checkpoint_note, [verifier, *witnesses])
        cosigned = {(s.name, s.key_id) for s in opened.signatures} & {
            (w.name, w.key_id) for w in witnesses
        }
        if len(cosigned) < quorum:
            raise ReceiptError(
                f"receipt: the checkpoint has {len(cosigned)} trusted witness cosignatures, "
                f"the policy needs {quorum}"
            )
    try:
        verify_inclusion(
            index=receipt.index,
            size=checkpoint.size,
            leaf_hash=leaf_hash(entry),
            proof=receipt.proof,
            root=checkpoint.root,
        )
    except ProofError as exc:
        raise ReceiptError(
            f"receipt: the entry is not proven at index {receipt.index} of "
            f"{checkpoint.origin} size {checkpoint.size}: {exc}"
        ) from exc
    return checkpoint
