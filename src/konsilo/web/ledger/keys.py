"""The record's signing key: kept outside the database, never logged.

One secret per installation, 32 random bytes in base64, taken from (first found):

1. ``KONSILO_LOG_KEY`` (the base64 text itself),
2. ``KONSILO_LOG_KEY_FILE`` (a file holding it),
3. ``KONSILO_DATA_DIR/log.key``, created on first start (mode 0600) outside production.

Each organisation's log signs with its own Ed25519 key, derived from that secret and the
log's origin with HKDF-SHA256 (``cryptography``), so one secret is backed up for all logs
and no two logs share a key. The key file must be readable by its owner only: a file that
others may read is refused, as ssh refuses such keys. Nothing here logs or prints key bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from konsilo.record import Signer

KEY_FILE_NAME = "log.key"
_INFO = b"konsilo record log key v1\n"
_lock = threading.Lock()
_cache: dict[tuple[str, str], bytes] = {}
_signers: dict[tuple[str, bytes], Signer] = {}


class SigningKeyError(RuntimeError):
    """The signing key is missing, unreadable or unsafe; the message says what to do."""


@dataclass(frozen=True)
class KeySource:
    """Where the secret comes from (for messages and checks), never the secret itself."""

    kind: str  # "env", "file" or "data-dir"
    path: Path | None


def key_source() -> KeySource:
    if os.environ.get("KONSILO_LOG_KEY", "").strip():
        return KeySource("env", None)
    path = os.environ.get("KONSILO_LOG_KEY_FILE", "").strip()
    if path:
        return KeySource("file", Path(path))
    return KeySource("data-dir", Path(settings.DATA_DIR) / KEY_FILE_NAME)


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{where}: expected 32 random bytes in base64") from None
    if len(raw) != 32:
        raise SigningKeyError(f"{where}: expected 32 bytes in base64, got {len(raw)} bytes")
    return raw


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"{path}: the record's signing key may be readable by its owner only "
            f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 {path}"
        )


def _read_file(path: Path) -> bytes:
    try:
        _check_private(path)
        return _decode(path.read_text(encoding="ascii"), str(path))
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SigningKeyError(f"{path}: expected 32 random bytes in base64") from None


def _create_file(path: Path) -> bytes:
    secret = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(base64.b64encode(secret).decode() + "\n")
    return secret


def missing_key_problem() -> str | None:
    """In production, why the signing key is not usable (None when it is)."""
    source = key_source()
    if source.kind == "env":
        try:
            _decode(os.environ["KONSILO_LOG_KEY"], "KONSILO_LOG_KEY")
        except SigningKeyError as exc:
            return str(exc)
        return None
    assert source.path is not None
    if not source.path.exists():
        return (
            f"the record's signing key is missing: set KONSILO_LOG_KEY_FILE (or KONSILO_LOG_KEY)"
            f" to 32 random bytes in base64, or create {source.path} with mode 0600"
            f" (e.g. head -c 32 /dev/urandom | base64 > {source.path}; chmod 600 {source.path})"
        )
    try:
        _read_file(source.path)
    except SigningKeyError as exc:
        return str(exc)
    return None


def _secret() -> bytes:
    source = key_source()
    ident = (source.kind, str(source.path or os.environ.get("KONSILO_LOG_KEY", "")))
    with _lock:
        if ident in _cache:
            return _cache[ident]
        if source.kind == "env":
            secret = _decode(os.environ["KONSILO_LOG_KEY"], "KONSILO_LOG_KEY")
        else:
            assert source.path is not None
            if source.path.exists():
                secret = _read_file(source.path)
            elif source.kind == "data-dir" and not settings.PRODUCTION:
                secret = _create_file(source.path)
            else:
                raise SigningKeyError(missing_key_problem() or f"{source.path}: missing")
        _cache[ident] = secret
        return secret


def signer_for(origin: str) -> Signer:
    """The log's note signer for ``origin`` (its key name is the origin)."""
    secret = _secret()
    with _lock:
        signer = _signers.get((origin, secret))
    if signer is None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + origin.encode())
        signer = Signer.from_seed(origin, hkdf.derive(secret))
        with _lock:
            _signers[(origin, secret)] = signer
    return signer


def clear_cache() -> None:
    """Forget the loaded secret (tests switch data directories)."""
    with _lock:
        _cache.clear()
        _signers.clear()
