"""Verify a whole record: entries, every signed checkpoint, consistency, and a replay.

What is checked, in one pass over the entries in order:

- each entry is one canonical JSON object (decoding and re-encoding it gives the same
  bytes) with the fields ``index``, ``type``, ``org``, ``council``, ``actor``, ``time`` and
  ``data``; its ``index`` is its position, its ``org`` the same for every entry;
- every long text an entry refers to (a ``data`` key ``sha256`` or ending in ``_sha256``
  whose value is 64 hex digits) exists beside the log and hashes to its name;
- every checkpoint's Ed25519 signature verifies with the log's verifier key, and its root is
  the RFC 9162 root of the entries it covers, computed from the running right edge of the
  tree as the entries stream by (each leaf is hashed once, each interior node once);
- each checkpoint is consistent with the previous one: a consistency proof (RFC 9162
  §2.1.4.1) is built from the stored subtree hashes and verified as §2.1.4.2 says;
- every entry is covered by a signed checkpoint;
- a `Replayer` (by default konsilo.governance.replay) applies each entry to the state so far
  and refuses one that cannot apply, or whose recorded result it cannot reproduce. The
  sequencer shuffles the entries of each batch, so each signed batch (the entries between
  two checkpoints) is replayed in the order of the entries' own times, secret ballots before
  the batch's tallies (`_batch_order`), once its checkpoint has matched; the replayer is
  then told of the checkpoint (`Replayer.checkpoint_signed`), whose note's hash seeds the
  lots of the votes closed in that batch.

The result is the first entry index where anything disagrees, with the reason
(`VerificationFailure`), and a `VerificationSummary`. Ties at one index go to the most
specific reason: a malformed entry before a checkpoint problem before a root mismatch before
a replay refusal (which may be a consequence of the others).

Where a checkpoint's root does not match, the failure is at the first entry the checkpoint
covers beyond the previous one: the entries from there to its size are not what was signed.
When a later checkpoint matches the entries again, the bad checkpoint is a fork: the log
signed two inconsistent histories.

I/O happens only through a `RecordSource`, so the same checks run on an export folder, on a
live log's entry bundles and on data built in memory (`MemorySource`).

>>> from konsilo import canonical
>>> from konsilo.record.checkpoint import Checkpoint, sign_checkpoint
>>> from konsilo.record.merkle import leaf_hash, root_from_leaf_hashes
>>> from konsilo.record.note import Signer
>>> log = Signer.from_seed("konsilo.example/log", bytes(range(32)))
>>> entries = [canonical.dumps({"index": i, "type": "note", "org": "o", "council": "",
...     "actor": "", "time": "2026-12-01T00:00:00Z", "data": {}}) for i in range(3)]
>>> root = root_from_leaf_hashes([leaf_hash(e) for e in entries])
>>> note = sign_checkpoint(Checkpoint("konsilo.example/log", 3, root), log)
>>> report = verify_record(MemorySource(entries, [note]), log.verifier, replayer=None)
>>> report.ok, report.summary.entries, report.summary.checkpoints
(True, 3, 1)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from konsilo import canonical
from konsilo.record.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from konsilo.record.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashId,
    MissingHashError,
    ProofError,
    consistency_proof,
    verify_consistency,
)
from konsilo.record.note import NoteError, Verifier

__all__ = [
    "ENTRY_FIELDS",
    "LevelHashStore",
    "MemorySource",
    "RecordSource",
    "Replayer",
    "VerificationFailure",
    "VerificationReport",
    "VerificationSummary",
    "long_text_references",
    "verify_record",
]

ENTRY_FIELDS = frozenset({"index", "type", "org", "council", "actor", "time", "data"})
"""The fields of every record entry (RECORD-CONTRACT §1), no more and no fewer."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KINDS = (
    ("type", str),
    ("org", str),
    ("council", str),
    ("actor", str),
    ("time", str),
    ("data", dict),
)

# Ranks for failures at the same index: the most specific reason wins.
_ENTRY, _CHECKPOINT, _ROOT, _REPLAY = 0, 1, 2, 3


@dataclass(frozen=True)
class VerificationFailure:
    """The first entry index where the record disagrees, and why.

    ``code`` is a short machine word (``entry_index``, ``not_canonical``, ``bad_signature``,
    ``root_mismatch``, ``inconsistent_checkpoint``, ``replay``, ...); ``checkpoint`` is the
    size of the checkpoint concerned, when one is.
    """

    index: int
    reason: str
    code: str = "invalid"
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"entry {self.index}: {self.reason}"


@dataclass(frozen=True)
class VerificationSummary:
    """What was verified: counts, and the tree head of the largest checkpoint."""

    entries: int
    checkpoints: int
    decisions_recounted: int = 0
    mandates_rederived: int = 0
    censuses_rederived: int = 0
    vote_censuses_rederived: int = 0
    origin: str = ""
    size: int = 0
    root: bytes = EMPTY_ROOT


@dataclass(frozen=True)
class VerificationReport:
    """The outcome: ``failure`` is None when everything verified."""

    summary: VerificationSummary
    failure: VerificationFailure | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole record verified."""
        return self.failure is None


class RecordSource(Protocol):
    """Where a record is read from: an export folder, a live log, memory."""

    def read_entries(self) -> Iterable[bytes]:
        """The entries' bytes in index order (no line terminator)."""
        ...

    def read_checkpoints(self) -> Iterable[tuple[str, bytes]]:
        """Every signed checkpoint note, each with a label naming where it came from."""
        ...

    def read_text(self, sha256: str) -> bytes | None:
        """The long text stored under this SHA-256 hex name, or None if there is none."""
        ...

    def list_texts(self) -> Iterable[str]:
        """The names of every stored long text."""
        ...


class Replayer(Protocol):
    """Applies decoded entries in order (konsilo.governance.replay.Replay is one)."""

    def apply(self, index: int, entry: Mapping[str, Any]) -> None:
        """Apply entry ``index`` to the state so far.

        Raises a ``ValueError`` whose ``reason`` attribute (or message) says why the entry
        cannot apply.
        """
        ...

    def checkpoint_signed(self, size: int, note_sha256: bytes) -> None:
        """A signed checkpoint of ``size`` entries matched every entry applied so far.

        ``note_sha256`` is the SHA-256 of the checkpoint's note exactly as published. Called
        after the entries it covers are applied and before any later entry.
        """
        ...

    def counts(self) -> Mapping[str, int]:
        """How much was re-derived: ``decisions_recounted``, ``mandates_rederived``, ..."""
        ...


@dataclass
class MemorySource:
    """A record held in memory (tests, benchmarks, tools that built it themselves)."""

    entries: Sequence[bytes]
    checkpoints: Sequence[str | bytes]
    texts: Mapping[str, bytes] = field(default_factory=dict)

    def read_entries(self) -> Iterable[bytes]:
        """The entries as given."""
        return iter(self.entries)

    def read_checkpoints(self) -> Iterable[tuple[str, bytes]]:
        """The checkpoints as given, labelled by position."""
        for i, note in enumerate(self.checkpoints):
            yield f"checkpoint {i}", note.encode() if isinstance(note, str) else note

    def read_text(self, sha256: str) -> bytes | None:
        """The text under this name, if any."""
        return self.texts.get(sha256)

    def list_texts(self) -> Iterable[str]:
        """Every text name."""
        return list(self.texts)


class LevelHashStore:
    """Every perfect subtree hash of a growing tree, one contiguous byte array per level.

    Appending a leaf hash only adds it to level 0; the interior nodes are hashed level by
    level, a batch at a time, when a root or a proof is asked for (each node once, when both
    of its halves are in), which costs far less per node than climbing the right edge on
    every append. Each completed subtree hash is stored once: twice the leaf hashes in all
    (64 MB for a million entries). It is a `konsilo.record.merkle.HashReader`, so proofs come
    from it directly.

    >>> from konsilo.record.merkle import leaf_hash, root_from_leaf_hashes
    >>> store = LevelHashStore()
    >>> for e in (b"a", b"b", b"c"):
    ...     store.append(leaf_hash(e))
    >>> store.root() == root_from_leaf_hashes([leaf_hash(e) for e in (b"a", b"b", b"c")])
    True
    """

    def __init__(self) -> None:
        self.levels: list[bytearray] = [bytearray()]
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (32 bytes, unchecked: the caller computed it)."""
        self.levels[0] += leaf
        self.size += 1

    def _complete(self) -> None:
        """Hash every node of the tree whose two halves are both stored."""
        sha = hashlib.sha256
        levels = self.levels
        level = 0
        while len(levels[level]) >= 2 * HASH_SIZE:
            if level + 1 == len(levels):
                levels.append(bytearray())
            below, above = levels[level], levels[level + 1]
            done = len(above) // HASH_SIZE
            pairs = len(below) // (2 * HASH_SIZE)
            if pairs > done:
                fresh = bytes(below[done * 2 * HASH_SIZE : pairs * 2 * HASH_SIZE])
                above += b"".join(
                    [
                        sha(b"\x01" + fresh[i : i + 2 * HASH_SIZE]).digest()
                        for i in range(0, len(fresh), 2 * HASH_SIZE)
                    ]
                )
            level += 1

    def root(self) -> bytes:
        """MTH of the leaves so far, folded from the right edge (one hash per set bit)."""
        if not self.size:
            return EMPTY_ROOT
        self._complete()
        result = b""
        start = self.size
        # The right edge from its smallest subtree up: the lowest set bit of the size first.
        for level in range(self.size.bit_length()):
            if self.size >> level & 1:
                start -= 1 << level
                at = (start >> level) * HASH_SIZE
                h = bytes(self.levels[level][at : at + HASH_SIZE])
                result = h if not result else _node(h, result)
        return result

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        """The stored hash of each ``(level, index)``."""
        self._complete()
        out = []
        for level, index in ids:
            if level >= len(self.levels) or (index + 1) * HASH_SIZE > len(self.levels[level]):
                raise MissingHashError(f"hash ({level}, {index}): not a complete subtree yet")
            out.append(bytes(self.levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]))
        return out


def _node(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), an interior node (unchecked: both are stored hashes)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def long_text_references(data: Any) -> list[str]:
    """The SHA-256 names of the long texts an entry's data refers to, in order of appearance.

    A reference is a key ``sha256`` or ending in ``_sha256`` whose value is 64 lowercase hex
    digits (what ``ledger.store_text`` returns).

    >>> long_text_references({"text_sha256": "ab" * 32, "items": [{"sha256": "x"}]})
    ['abababababababababababababababababababababababababababababababab']
    """
    found: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if (
                    (key == "sha256" or key.endswith("_sha256"))
                    and isinstance(item, str)
                    and _HEX64.fullmatch(item)
                ):
                    found.append(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return list(dict.fromkeys(found))


def _no_float(text: str) -> Any:
    raise ValueError(f"a float {text} (canonical JSON has none)")


_decoder = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)
_scan: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]
_encode = canonical.dumps_plain_str


@dataclass
class _Signed:
    label: str
    checkpoint: Checkpoint | None
    note: bytes = b""
    failure: str = ""
    digest: bytes = b""  # SHA-256 of the note as published


class _Run:
    """The state of one verification pass."""

    def __init__(self, replayer: Replayer | None, organisation: str | None) -> None:
        self.replayer = replayer
        self.organisation = organisation
        self.best: tuple[int, int, VerificationFailure] | None = None
        self.replaying = replayer is not None

    def fail(self, rank: int, failure: VerificationFailure) -> None:
        key = (failure.index, rank)
        if self.best is None or key < self.best[:2]:
            self.best = (failure.index, rank, failure)
        # Nothing after a failure is replayed: the state is no longer the record's.
        self.replaying = False

    @property
    def failure(self) -> VerificationFailure | None:
        return None if self.best is None else self.best[2]


def _read_checkpoints(
    source: RecordSource, verifier: Verifier
) -> tuple[list[_Signed], list[_Signed]]:
    """Open every checkpoint; return the good ones by size and the bad ones."""
    good: dict[int, _Signed] = {}
    bad: list[_Signed] = []
    for label, note in source.read_checkpoints():
        try:
            checkpoint = open_checkpoint(note, verifier)
        except (NoteError, CheckpointError) as exc:
            bad.append(_Signed(label, None, note, str(exc)))
            continue
        same = good.get(checkpoint.size)
        if same is not None and same.checkpoint is not None and same.checkpoint != checkpoint:
            bad.append(
                _Signed(
                    label,
                    checkpoint,
                    note,
                    f"{label} and {same.label} are both signed for size {checkpoint.size} "
                    "with different roots: the log signed two inconsistent histories",
                )
            )
            continue
        good[checkpoint.size] = _Signed(label, checkpoint, digest=hashlib.sha256(note).digest())
    return [good[size] for size in sorted(good)], bad


def _check_entry(
    run: _Run, i: int, line: bytes, source: RecordSource, org: list[str]
) -> dict[str, Any] | None:
    """The decoded entry, or None after recording why it is refused."""
    try:
        text = line.decode("utf-8")
        entry, end = _scan(text, 0)
    except StopIteration:
        run.fail(_ENTRY, VerificationFailure(i, "not a JSON entry", "malformed_entry"))
        return None
    except (UnicodeDecodeError, ValueError) as exc:
        run.fail(_ENTRY, VerificationFailure(i, f"not a JSON entry: {exc}", "malformed_entry"))
        return None
    if type(entry) is not dict or entry.keys() != ENTRY_FIELDS:
        got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        run.fail(
            _ENTRY,
            VerificationFailure(
                i, f"expected an object with fields {sorted(ENTRY_FIELDS)}, got {got}", "fields"
            ),
        )
        return None
    index = entry["index"]
    if isinstance(index, bool) or index != i:
        run.fail(
            _ENTRY,
            VerificationFailure(
                i,
                f"the entry at position {i} says index {index!r}: an entry was deleted, "
                "inserted or moved",
                "entry_index",
            ),
        )
        return None
    if (
        type(entry["type"]) is not str
        or type(entry["org"]) is not str
        or type(entry["council"]) is not str
        or type(entry["actor"]) is not str
        or type(entry["time"]) is not str
        or type(entry["data"]) is not dict
    ):
        name, kind = next((n, k) for n, k in _KINDS if type(entry[n]) is not k)
        run.fail(
            _ENTRY,
            VerificationFailure(
                i, f"field {name}: expected a {kind.__name__}, got {entry[name]!r}", "fields"
            ),
        )
        return None
    if not org:
        org.append(run.organisation or entry["org"])
    if entry["org"] != org[0]:
        run.fail(
            _ENTRY,
            VerificationFailure(
                i, f"org is {entry['org']!r}, but the record is {org[0]!r}'s", "organisation"
            ),
        )
        return None
    if end != len(text) or _encode(entry) != text:
        run.fail(
            _ENTRY,
            VerificationFailure(
                i,
                "not canonical JSON: re-encoding the entry (sorted keys, no whitespace, UTF-8) "
                "gives different bytes",
                "not_canonical",
            ),
        )
        return None
    if b'sha256"' in line:
        for name in long_text_references(entry["data"]):
            stored = source.read_text(name)
            if stored is None:
                run.fail(
                    _ENTRY,
                    VerificationFailure(
                        i, f"long text {name} is referenced but not published", "long_text"
                    ),
                )
                return None
            if hashlib.sha256(stored).hexdigest() != name:
                run.fail(
                    _ENTRY,
                    VerificationFailure(
                        i,
                        f"long text {name} does not hash to its name "
                        f"(SHA-256 {hashlib.sha256(stored).hexdigest()})",
                        "long_text",
                    ),
                )
                return None
    return entry


def _check_consistency(
    run: _Run, store: LevelHashStore, signed: _Signed, previous: Checkpoint
) -> None:
    """Build the consistency proof from the stored hashes and verify it (RFC 9162 §2.1.4)."""
    checkpoint = signed.checkpoint
    assert checkpoint is not None
    try:
        proof = consistency_proof(previous.size, checkpoint.size, store)
        verify_consistency(
            old_size=previous.size,
            new_size=checkpoint.size,
            old_root=previous.root,
            new_root=checkpoint.root,
            proof=proof,
        )
    except ProofError as exc:
        run.fail(
            _CHECKPOINT,
            VerificationFailure(
                previous.size,
                f"{signed.label} is not consistent with the checkpoint of size "
                f"{previous.size}: {exc}",
                "inconsistent_checkpoint",
                checkpoint.size,
            ),
        )


_UNLINKABLE = frozenset({"ballot.participated"})
_AFTER_BALLOTS = frozenset({"vote.closed", "tally.recorded"})
_AFTER_TALLIES = frozenset(
    {
        "mandate.derived",
        "delegation.voted",
        # A sent item's amendment, its requests to postpone, its postponement and its
        # settlement read the mandates and the delegations' votes (§3.10).
        "proposal.amended",
        "postponement.requested",
        "vote.postponed",
        "out_of_mandate.settled",
    }
)


def _batch_order(entry: Mapping[str, Any]) -> tuple[int, str, int]:
    """Where an entry goes when its signed batch is replayed.

    The sequencer shuffles every batch, so the order inside a batch means nothing. Entries
    keep the time their action appended them, which gives the order of the actions; secret
    ballots and participation (unlinkable) carry only the batch's time, but were cast while
    their vote was open, so they come before the batch's closings and tallies, and mandates
    after those.
    """
    kind = entry["type"]
    if kind in _UNLINKABLE or (kind == "ballot.cast" and "receipt" in entry["data"]):
        group = 1
    elif kind in _AFTER_BALLOTS:
        group = 2
    elif kind in _AFTER_TALLIES:
        group = 3
    else:
        group = 0
    return group, entry["time"], entry["index"]


def _replay_batch(run: _Run, batch: list[dict[str, Any]]) -> None:
    """Replay one signed batch in `_batch_order`, up to the first failure found so far."""
    if run.replayer is None or not batch:
        return
    limit = run.best[0] if run.best is not None else None
    for entry in sorted(batch, key=_batch_order):
        index = entry["index"]
        if limit is not None and index >= limit:
            continue
        try:
            run.replayer.apply(index, entry)
        except ValueError as exc:
            reason = f"{entry['type']}: {getattr(exc, 'reason', exc)}"
            run.fail(_REPLAY, VerificationFailure(index, reason, "replay"))
            return


def _claimed_size(note: bytes) -> int | None:
    """The size an unverified checkpoint claims, if its text can be read at all."""
    try:
        text = note.decode()
        return Checkpoint.parse(text[: text.rfind("\n\n") + 1]).size
    except (UnicodeDecodeError, CheckpointError, ValueError):
        return None


def verify_record(
    source: RecordSource,
    verifier: Verifier,
    *,
    replayer: Replayer | None,
    organisation: str | None = None,
    size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Verify the record read from ``source`` with the log's ``verifier`` key.

    ``replayer`` applies each entry (None: structure and signatures only); ``organisation``
    is the slug every entry must carry (default: the first entry's); ``size`` is the size
    the export claims (its manifest), which must be the number of entries and the size of
    the largest checkpoint. ``progress`` is called with the number of entries done, now and
    then. Returns a `VerificationReport` with the first failure, if any.
    """
    run = _Run(replayer, organisation)
    good, bad = _read_checkpoints(source, verifier)
    good_sizes = [s.checkpoint.size for s in good if s.checkpoint is not None]
    for signed in bad:
        claimed = signed.checkpoint.size if signed.checkpoint else _claimed_size(signed.note)
        # The failure is at the first entry the checkpoint would cover beyond the last good one.
        start = max((s for s in good_sizes if claimed is not None and s < claimed), default=0)
        code = "bad_signature" if signed.checkpoint is None else "inconsistent_checkpoint"
        run.fail(
            _CHECKPOINT,
            VerificationFailure(start, f"{signed.label}: {signed.failure}", code, claimed),
        )
    store = LevelHashStore()
    org: list[str] = []
    queue = iter(good)
    nxt = next(queue, None)
    previous: Checkpoint | None = None
    if nxt is not None and nxt.checkpoint is not None and nxt.checkpoint.size == 0:
        if nxt.checkpoint.root != EMPTY_ROOT:
            run.fail(
                _ROOT,
                VerificationFailure(
                    0,
                    f"{nxt.label}: size 0 with a root that is not SHA-256('')",
                    "root_mismatch",
                    0,
                ),
            )
        previous = nxt.checkpoint
        nxt = next(queue, None)
    pending: VerificationFailure | None = None
    complete = True
    count = 0
    batch: list[dict[str, Any]] = []
    append, sha = store.append, hashlib.sha256

    def due(signed: _Signed | None) -> int:
        """The size of the next checkpoint to check (-1: none)."""
        return -1 if signed is None or signed.checkpoint is None else signed.checkpoint.size

    next_size = due(nxt)
    for i, line in enumerate(source.read_entries()):
        count = i + 1
        append(sha(b"\x00" + line).digest())
        entry = _check_entry(run, i, line, source, org)
        if entry is not None and run.replaying and run.replayer is not None:
            batch.append(entry)
        if progress is not None and count % 65536 == 0:
            progress(count)
        if count != next_size or nxt is None:
            continue
        signed, nxt = nxt, next(queue, None)
        next_size = due(nxt)
        assert signed.checkpoint is not None
        start = previous.size if previous else 0
        if store.root() != signed.checkpoint.root:
            batch.clear()
            if pending is not None:
                complete = False
                break  # two mismatches in a row: the entries themselves changed
            span = (
                f"entry {start} does"
                if start == count - 1
                else f"entries {start} to {count - 1} do"
            )
            pending = VerificationFailure(
                start,
                f"{span} not hash to the signed root of {signed.label} (size {count}): "
                "the entries are not what the log signed",
                "root_mismatch",
                count,
            )
            run.replaying = False
            continue
        if pending is not None:
            # The entries match this checkpoint again: the one that did not is a fork.
            run.fail(
                _CHECKPOINT,
                VerificationFailure(
                    pending.index,
                    f"the checkpoint of size {pending.checkpoint} is not consistent with the "
                    f"checkpoint of size {count} ({signed.label}), which matches the entries: "
                    "the log signed two inconsistent histories",
                    "inconsistent_checkpoint",
                    pending.checkpoint,
                ),
            )
            pending = None
            complete = False
            break
        if previous is not None:
            _check_consistency(run, store, signed, previous)
        previous = signed.checkpoint
        _replay_batch(run, batch)
        batch.clear()
        if run.replaying and run.replayer is not None:
            run.replayer.checkpoint_signed(count, signed.digest)
        if run.best is not None and run.best[0] < count:
            complete = False
            break  # every later problem would be at a later index
    if progress is not None:
        progress(count)
    if pending is not None:
        run.fail(_ROOT, pending)
    checked = store.size
    covered = previous.size if previous is not None else 0
    if complete:
        if nxt is not None and nxt.checkpoint is not None:
            run.fail(
                _ROOT,
                VerificationFailure(
                    checked,
                    f"{nxt.label} is signed for size {nxt.checkpoint.size}, but the record "
                    f"has only {checked} entries: entries were deleted",
                    "missing_entries",
                    nxt.checkpoint.size,
                ),
            )
        elif checked > covered and pending is None:
            run.fail(
                _ROOT,
                VerificationFailure(
                    covered,
                    f"entries {covered} to {checked - 1} are not covered by any signed checkpoint",
                    "not_signed",
                ),
            )
        if size is not None and size != checked:
            run.fail(
                _ROOT,
                VerificationFailure(
                    min(size, checked),
                    f"the export says it holds {size} entries, but it holds {checked}",
                    "size",
                ),
            )
    if run.best is None:
        for name in sorted(source.list_texts()):
            text = source.read_text(name)
            if text is None or hashlib.sha256(text).hexdigest() != name:
                run.fail(
                    _ENTRY,
                    VerificationFailure(
                        checked, f"long text {name} does not hash to its name", "long_text"
                    ),
                )
                break
    counts: Mapping[str, int] = replayer.counts() if replayer is not None else {}
    summary = VerificationSummary(
        entries=checked,
        checkpoints=len(good),
        decisions_recounted=counts.get("decisions_recounted", 0),
        mandates_rederived=counts.get("mandates_rederived", 0),
        censuses_rederived=counts.get("censuses_rederived", 0),
        vote_censuses_rederived=counts.get("vote_censuses_rederived", 0),
        origin=verifier.name,
        size=covered,
        root=previous.root if previous is not None else EMPTY_ROOT,
    )
    return VerificationReport(summary, run.failure)
