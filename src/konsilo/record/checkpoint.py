"""C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed (origin, size, root) of the log.

A checkpoint's note text is the origin, the tree size in decimal and the base64 root hash,
each on its own line, then optional extension lines. The log signs it with its Ed25519
note key, whose name is the origin. The log must never sign two checkpoints that are
inconsistent with each other: `check_consistent_to_sign` is the guard the sequencer calls
before every signature.

>>> from konsilo.record.merkle import EMPTY_ROOT
>>> print(Checkpoint("konsilo.example/log", 0, EMPTY_ROOT).text, end="")
konsilo.example/log
0
47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from konsilo.record.merkle import HASH_SIZE, ProofError, verify_consistency
from konsilo.record.note import NoteSigner, Verifier, open_note, sign_note

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "InconsistentCheckpointError",
    "check_consistent_to_sign",
    "open_checkpoint",
    "sign_checkpoint",
]

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_SIZE = (1 << 64) - 1


class CheckpointError(ValueError):
    """A checkpoint is malformed or not signed by the log; the message names the line."""


class InconsistentCheckpointError(ValueError):
    """The new tree is not consistent with the last signed checkpoint: never sign it."""


def _check_origin(origin: str) -> None:
    if not origin or "+" in origin or any(c.isspace() or c < " " for c in origin):
        raise CheckpointError(
            f"checkpoint origin: expected a non-empty name without spaces or '+', got {origin!r}"
        )


@dataclass(frozen=True)
class Checkpoint:
    """One tree head of the log: origin, tree size, root hash and rare extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_origin(self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size: expected an integer, got {self.size!r}")
        if not 0 <= self.size <= _MAX_SIZE:
            raise CheckpointError(f"checkpoint size: expected 0 to 2^64-1 leaves, got {self.size}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root: expected a {HASH_SIZE}-byte hash, got {self.root!r}"
            )
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, line in enumerate(self.extensions, start=4):
            if not line or "\n" in line or any(c < " " for c in line):
                raise CheckpointError(
                    f"checkpoint line {i}: expected a non-empty extension line, got {line!r}"
                )

    @property
    def text(self) -> str:
        """The note text: origin, size, base64 root, extensions, each ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (without the signatures)."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint: expected the text to end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(
                f"checkpoint: expected origin, size and root lines, got {len(lines)} lines"
            )
        origin, size, root64, *extensions = lines
        if len(size) > 20 or not _DECIMAL.fullmatch(size):
            raise CheckpointError(
                f"checkpoint line 2 (size): expected a decimal without leading zeros, got {size!r}"
            )
        try:
            root = base64.b64decode(root64, validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointError(
                f"checkpoint line 3 (root): expected base64, got {root64!r}"
            ) from None
        if len(root) != HASH_SIZE or base64.b64encode(root).decode() != root64:
            raise CheckpointError(
                f"checkpoint line 3 (root): expected the base64 of a {HASH_SIZE}-byte hash, "
                f"got {root64!r}"
            )
        return cls(origin, int(size), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """Sign the checkpoint with the log's key, whose name must be the origin; return the note.

    >>> from konsilo.record.note import Signer
    >>> from konsilo.record.merkle import EMPTY_ROOT
    >>> log = Signer.from_seed("konsilo.example/log", bytes(range(32)))
    >>> note = sign_checkpoint(Checkpoint("konsilo.example/log", 0, EMPTY_ROOT), log)
    >>> open_checkpoint(note, log.verifier).size
    0
    """
    if signer.name != checkpoint.origin:
        raise CheckpointError(
            f"signer: the log's key name must be the origin {checkpoint.origin!r}, "
            f"got {signer.name!r}"
        )
    return sign_note(checkpoint.text, [signer])


def open_checkpoint(note: str | bytes, verifier: Verifier) -> Checkpoint:
    """Verify the log's signature on a checkpoint note and return the checkpoint.

    The origin must be the log key's name. Other signatures (witness cosignatures) are
    ignored here; `konsilo.record.note.open_note` checks them against a witness policy.
    """
    opened = open_note(note, [verifier])
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != verifier.name:
        raise CheckpointError(
            f"checkpoint origin: expected the log {verifier.name!r}, got {checkpoint.origin!r}"
        )
    return checkpoint


def check_consistent_to_sign(
    last: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]
) -> None:
    """Refuse to go on unless ``new`` extends the last signed checkpoint ``last``.

    ``proof`` is the consistency proof from ``last.size`` to ``new.size``. Raises
    `InconsistentCheckpointError` when the origin differs, the tree shrank, or the proof
    does not show that the new tree contains the old one unchanged: signing would publish
    rewritten history.
    """
    if last is None:
        return
    if new.origin != last.origin:
        raise InconsistentCheckpointError(
            f"REFUSING TO SIGN: the new checkpoint is for origin {new.origin!r} but the last "
            f"signed checkpoint is for {last.origin!r}"
        )
    try:
        verify_consistency(
            old_size=last.size,
            new_size=new.size,
            old_root=last.root,
            new_root=new.root,
            proof=proof,
        )
    except ProofError as exc:
        raise InconsistentCheckpointError(
            f"REFUSING TO SIGN: the tree of size {new.size} with root "
            f"{base64.b64encode(new.root).decode()} is NOT consistent with the last signed "
            f"checkpoint of {last.origin} (size {last.size}, root "
            f"{base64.b64encode(last.root).decode()}): {exc}. The record's history would be "
            f"rewritten; stop the sequencer and investigate the stored entries and hashes."
        ) from exc
