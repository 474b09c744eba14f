"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys and tlog-cosignature lines.

A note is a text ending in a newline, a blank line, then one or more signature lines
``— <key name> <base64(4-byte key ID || signature)>``. Keys are published as verifier keys
``<name>+<hex8 key ID>+<base64(type || public key)>``; the key ID is
``SHA-256(name || "\\n" || type || public key)[:4]``. Type 0x01 is an Ed25519 note
signature, type 0x04 an Ed25519 witness cosignature (c2sp.org/tlog-cosignature), whose
signature is an 8-byte big-endian timestamp followed by the Ed25519 signature of
``cosignature/v1\\ntime <timestamp>\\n`` + the note text.

Private keys use Go's ``golang.org/x/mod/sumdb/note`` format
``PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || 32-byte seed)>``.

All signing and verification is done by the ``cryptography`` package.

>>> signer = Signer.from_seed("konsilo.example/log", bytes(range(32)))
>>> signer.vkey
'konsilo.example/log+9017eb01+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4'
>>> note = sign_note("hello\\n", [signer])
>>> open_note(note, [signer.verifier]).text
'hello\\n'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "MAX_SIGNATURES",
    "Cosigner",
    "InvalidKeyError",
    "InvalidSignatureError",
    "NoteError",
    "NoteSigner",
    "OpenedNote",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "cosignature_timestamp",
    "generate_key",
    "is_valid_key_name",
    "key_id",
    "open_note",
    "sign_note",
]

ED25519 = 0x01
"""Signature type byte of an Ed25519 note signature."""

COSIGNATURE_V1 = 0x04
"""Signature type byte of an Ed25519 tlog-cosignature (cosignature/v1)."""

MAX_SIGNATURES = 100
"""Notes with more signature lines are refused, as Go's ``note.Open`` does."""

_DASH = "— "  # U+2014 EM DASH, then a space
_HEX8 = re.compile(r"[0-9a-f]{8}")
_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8


class NoteError(ValueError):
    """A note is malformed, or could not be verified; the message says where and why."""


class InvalidSignatureError(NoteError):
    """A signature by a known key did not verify: the whole note is rejected."""


class UnverifiedNoteError(NoteError):
    """No signature in the note is by a known key."""


class InvalidKeyError(ValueError):
    """A verifier key, private key or key name is malformed; the message says which part."""


def is_valid_key_name(name: str) -> bool:
    """Return whether ``name`` is a valid key name: non-empty, no spaces, no ``+``.

    >>> is_valid_key_name("konsilo.example/log"), is_valid_key_name("a+b")
    (True, False)
    """
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() for c in name)
        and _is_note_text(name)
        and "\n" not in name
    )


def key_id(name: str, key: bytes) -> int:
    """Return the key ID: the first 4 bytes of SHA-256(name || "\\n" || key), big-endian.

    ``key`` is the type byte followed by the public key.
    """
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + key).digest()[:4], "big")


def _b64decode(value: str, field: str, error: type[ValueError], *, canonical: bool = True) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{field}: expected standard base64, got {value!r}") from None
    if canonical:
        _check_canonical(raw, value, field, error)
    return raw


def _check_canonical(raw: bytes, value: str, field: str, error: type[ValueError]) -> None:
    # Non-zero padding bits would give one key or signature several spellings.
    if base64.b64encode(raw).decode() != value:
        raise error(f"{field}: expected canonical standard base64, got {value!r}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _is_note_text(text: str) -> bool:
    """Valid UTF-8 (no lone surrogates) with no control character below U+0020 except \\n."""
    if any(c < " " and c != "\n" for c in text):
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, key ID and the signature after the key ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, ``— <name> <base64(key ID || signature)>`` and a newline."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {_b64(blob)}\n"

    @classmethod
    def parse(cls, line: str) -> Signature:
        """Parse one signature line, with or without its final newline."""
        body = line.removesuffix("\n")
        if not body.startswith(_DASH):
            raise NoteError(f"signature line: expected to start with '— ', got {line!r}")
        name, space, b64 = body[len(_DASH) :].partition(" ")
        if not space or not is_valid_key_name(name):
            raise NoteError(f"signature line: expected a valid key name, got {line!r}")
        blob = _b64decode(b64, f"signature line {name!r}", NoteError)
        if len(blob) < 5:
            raise NoteError(
                f"signature line {name!r}: expected a 4-byte key ID and a signature, "
                f"got {len(blob)} bytes"
            )
        return cls(name=name, key_id=int.from_bytes(blob[:4], "big"), signature=blob[4:])


def cosignature_timestamp(signature: Signature) -> int:
    """Return the timestamp (seconds since the epoch) of a tlog-cosignature/v1 signature."""
    if len(signature.signature) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
        raise NoteError(
            f"cosignature {signature.name!r}: expected {_TIMESTAMP_SIZE + _SIGNATURE_SIZE} "
            f"bytes (timestamp and Ed25519 signature), got {len(signature.signature)}"
        )
    return int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")


def _cosigned_message(timestamp: int, message: bytes) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + message


class Verifier:
    """A public key that checks note signatures: Ed25519 (0x01) or cosignature/v1 (0x04)."""

    def __init__(self, name: str, key_type: int, public_key: bytes) -> None:
        if not is_valid_key_name(name):
            raise InvalidKeyError(
                f"key name: expected a non-empty name without spaces or '+', got {name!r}"
            )
        if key_type not in {ED25519, COSIGNATURE_V1}:
            raise InvalidKeyError(
                f"key type of {name!r}: expected 0x01 (Ed25519) or 0x04 (cosignature/v1), "
                f"got 0x{key_type:02x}"
            )
        if len(public_key) != 32:
            raise InvalidKeyError(
                f"public key of {name!r}: expected 32 bytes, got {len(public_key)}"
            )
        self.name = name
        self.key_type = key_type
        self.public_key = bytes(public_key)
        self.key_id = key_id(name, bytes([key_type]) + self.public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse a verifier key ``<name>+<hex8 key ID>+<base64(type || public key)>``.

        The base64 part may itself contain ``+``, so only the first two ``+`` split.

        >>> key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
        >>> Verifier.from_vkey(key).name
        'sum.golang.org'
        """
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise InvalidKeyError(
                f"verifier key: expected '<name>+<hex8 key ID>+<base64 key>', got {vkey!r}"
            )
        name, hex8, key64 = parts
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"verifier key: expected a valid key name, got {name!r}")
        if not _HEX8.fullmatch(hex8):
            raise InvalidKeyError(
                f"verifier key {name!r}: expected the key ID as 8 lowercase hex digits, "
                f"got {hex8!r}"
            )
        field = f"verifier key {name!r}"
        key = _b64decode(key64, field, InvalidKeyError, canonical=False)
        if not key:
            raise InvalidKeyError(f"{field}: the key is empty")
        if key_id(name, key) != int(hex8, 16):
            raise InvalidKeyError(
                f"{field}: key ID {hex8} does not match the key (expected {key_id(name, key):08x})"
            )
        verifier = cls(name, key[0], key[1:])
        _check_canonical(key, key64, field, InvalidKeyError)
        return verifier

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex8 key ID>+<base64(type || public key)>``."""
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([self.key_type]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (after the key ID) signs ``message`` for this key."""
        if self.key_type == COSIGNATURE_V1:
            if len(signature) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
                return False
            timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
            message = _cosigned_message(timestamp, message)
            signature = signature[_TIMESTAMP_SIZE:]
        if len(signature) != _SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class NoteSigner(Protocol):
    """Anything that signs notes: a key name, its key ID, and a sign function."""

    @property
    def name(self) -> str:
        """The key name written in the signature line."""
        ...

    @property
    def key_id(self) -> int:
        """The 4-byte key ID written before the signature."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature (without the key ID) of ``message``."""
        ...


class Signer:
    """An Ed25519 note signing key with its name (type 0x01)."""

    key_type = ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.verifier = Verifier(name, self.key_type, _public_bytes(private_key.public_key()))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """Build the signer from a 32-byte Ed25519 seed (RFC 8032 private key)."""
        if len(seed) != 32:
            raise InvalidKeyError(f"seed of {name!r}: expected 32 bytes, got {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse a private key ``PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || seed)>``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise InvalidKeyError(
                "private key: expected 'PRIVATE+KEY+<name>+<hex8 key ID>+<base64 key>'"
            )
        _, _, name, hex8, key64 = parts
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"private key: expected a valid key name, got {name!r}")
        if not _HEX8.fullmatch(hex8):
            raise InvalidKeyError(
                f"private key {name!r}: expected the key ID as 8 lowercase hex digits"
            )
        key = _b64decode(key64, f"private key {name!r}", InvalidKeyError)
        if len(key) != 33 or key[0] != ED25519:
            raise InvalidKeyError(
                f"private key {name!r}: expected 0x01 and a 32-byte Ed25519 seed "
                f"({len(key)} bytes came)"
            )
        signer = cls.from_seed(name, key[1:])
        if signer.key_id != int(hex8, 16):
            raise InvalidKeyError(
                f"private key {name!r}: key ID {hex8} does not match the key's public half"
            )
        return signer

    @property
    def name(self) -> str:
        """The key name."""
        return self.verifier.name

    @property
    def key_id(self) -> int:
        """The key ID of the public key."""
        return self.verifier.key_id

    @property
    def vkey(self) -> str:
        """The verifier key to publish."""
        return self.verifier.vkey

    @property
    def skey(self) -> str:
        """The private key in Go's note format: keep it secret."""
        seed = self._private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ED25519]) + seed)}"

    def sign(self, message: bytes) -> bytes:
        """Return the Ed25519 signature of ``message``."""
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


class Cosigner(Signer):
    """A witness's Ed25519 cosignature/v1 key (type 0x04), signing at a given timestamp.

    The cosigned message does not name the cosigner, so each cosigner needs its own key.
    """

    key_type = COSIGNATURE_V1

    def __init__(self, name: str, private_key: Ed25519PrivateKey, *, timestamp: int = 0) -> None:
        super().__init__(name, private_key)
        if not 0 <= timestamp < 1 << 64:
            raise ValueError(f"timestamp: expected a 64-bit unsigned integer, got {timestamp}")
        self.timestamp = timestamp

    @classmethod
    def from_seed(cls, name: str, seed: bytes, *, timestamp: int = 0) -> Cosigner:
        """Build the cosigner from a 32-byte seed; it signs with ``timestamp`` (Unix seconds)."""
        if len(seed) != 32:
            raise InvalidKeyError(f"seed of {name!r}: expected 32 bytes, got {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(bytes(seed)), timestamp=timestamp)

    @property
    def skey(self) -> str:
        """Not defined for cosigners: Go's private key format is for type 0x01 keys."""
        raise InvalidKeyError("private key: only Ed25519 note keys (0x01) have the skey format")

    def sign(self, message: bytes) -> bytes:
        """Return the timestamp and the Ed25519 signature of the cosigned message."""
        signed = self._private_key.sign(_cosigned_message(self.timestamp, message))
        return self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signed


def generate_key(name: str) -> tuple[str, str]:
    """Generate a new Ed25519 note key; return ``(skey, vkey)``.

    The private key is drawn from the operating system's randomness by ``cryptography``.
    """
    signer = Signer(name, Ed25519PrivateKey.generate())
    return signer.skey, signer.vkey


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text: expected a text ending in a newline")
    if not _is_note_text(text):
        raise NoteError("note text: expected UTF-8 without control characters other than newline")


def sign_note(
    text: str, signers: Sequence[NoteSigner], *, existing: Sequence[Signature] = ()
) -> str:
    """Sign ``text`` with each signer and return the note.

    ``existing`` signature lines (e.g. from `open_note`) are kept first, except those by one
    of the new signers, which are replaced.
    """
    _check_text(text)
    message = text.encode()
    new = []
    for signer in signers:
        if not is_valid_key_name(signer.name):
            raise NoteError(f"signer: expected a valid key name, got {signer.name!r}")
        new.append(Signature(signer.name, signer.key_id, signer.sign(message)))
    replaced = {(s.name, s.key_id) for s in new}
    kept = [s for s in existing if (s.name, s.key_id) not in replaced]
    lines = [*kept, *new]
    if not lines:
        raise NoteError("signers: a note needs at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"signers: at most {MAX_SIGNATURES} signatures, got {len(lines)}")
    return text + "\n" + "".join(s.line for s in lines)


class OpenedNote(NamedTuple):
    """A verified note: its text, the signatures verified by known keys, and the others."""

    text: str
    signatures: tuple[Signature, ...]
    other_signatures: tuple[Signature, ...]


def _split(note: str | bytes) -> tuple[str, list[str]]:
    if isinstance(note, bytes):
        try:
            note = note.decode()
        except UnicodeDecodeError as exc:
            raise NoteError(f"note: expected UTF-8, byte {exc.start} is not") from None
    if not _is_note_text(note):
        raise NoteError("note: expected UTF-8 without control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note: expected a blank line between the text and the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note: expected signature lines ending in a newline after the blank line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note: at most {MAX_SIGNATURES} signatures, got {len(lines)}")
    return text, lines


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Parse a note and verify its signatures by the known ``verifiers``.

    Following c2sp.org/signed-note: the text ends at the last blank line; signatures by
    unknown keys are kept unverified in ``other_signatures``; a signature by a known key
    that fails rejects the whole note (`InvalidSignatureError`); a note with no signature
    verified by a known key is rejected (`UnverifiedNoteError`). Repeated signature lines
    are kept once.
    """
    text, lines = _split(note)
    message = text.encode()
    known: dict[tuple[str, int], list[Verifier]] = {}
    for v in verifiers:
        same = known.setdefault((v.name, v.key_id), [])
        if all(o.public_key != v.public_key or o.key_type != v.key_type for o in same):
            same.append(v)
    verified: list[Signature] = []
    others: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for i, line in enumerate(lines, start=1):
        try:
            sig = Signature.parse(line)
        except NoteError as exc:
            raise NoteError(f"note: signature line {i}: {exc}") from None
        candidates = known.get((sig.name, sig.key_id))
        if not candidates:
            if sig not in others:
                others.append(sig)
            continue
        if len(candidates) > 1:
            raise NoteError(f"verifiers: ambiguous key {sig.name}+{sig.key_id:08x}")
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not candidates[0].verify(message, sig.signature):
            raise InvalidSignatureError(
                f"note: invalid signature for key {sig.name}+{sig.key_id:08x} "
                f"(signature line {i}); the note is rejected"
            )
        verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in others) or "none"
        raise UnverifiedNoteError(
            f"note: no signature by a known key (signed by: {names}; known: "
            f"{', '.join(f'{v.name}+{v.key_id:08x}' for v in verifiers) or 'none'})"
        )
    return OpenedNote(text, tuple(verified), tuple(others))
