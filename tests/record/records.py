"""Build signed records in memory and as export folders, with the pure package only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from konsilo import canonical
from konsilo.record import Checkpoint, Signer, sign_checkpoint
from konsilo.record.merkle import leaf_hash, root_from_leaf_hashes
from konsilo.record.verify import MemorySource

ORIGIN = "konsilo.test/log/fed"


def entry_bytes(index: int, entry_type: str, data: Mapping[str, Any], **fields: Any) -> bytes:
    """One record entry as the contract has it (RECORD-CONTRACT §1)."""
    return canonical.dumps(
        {
            "index": index,
            "type": entry_type,
            "org": fields.get("org", "fed"),
            "council": fields.get("council", ""),
            "actor": fields.get("actor", "operator"),
            "time": fields.get("time", f"2026-12-01T10:00:{index % 60:02d}.000000Z"),
            "data": data,
        }
    )


class RecordBuilder:
    """Entries, a signed checkpoint after each batch, long texts; a fresh Ed25519 key."""

    def __init__(self, origin: str = ORIGIN, org: str = "fed") -> None:
        self.signer = Signer(origin, Ed25519PrivateKey.generate())
        self.org = org
        self.entries: list[bytes] = []
        self.checkpoints: list[str] = []
        self.texts: dict[str, bytes] = {}

    @property
    def verifier(self) -> Any:
        return self.signer.verifier

    def add(self, entry_type: str, data: Mapping[str, Any], *, sign: bool = True, **f: Any) -> int:
        """Append one entry (and sign a checkpoint over it unless ``sign`` is False)."""
        index = len(self.entries)
        self.entries.append(entry_bytes(index, entry_type, data, org=self.org, **f))
        if sign:
            self.sign()
        return index

    def text(self, text: str) -> str:
        data = text.encode()
        digest = hashlib.sha256(data).hexdigest()
        self.texts[digest] = data
        return digest

    def sign(self, entries: list[bytes] | None = None) -> str:
        """Sign a checkpoint over ``entries`` (default: the builder's own)."""
        leaves = [leaf_hash(e) for e in (self.entries if entries is None else entries)]
        note = sign_checkpoint(
            Checkpoint(self.signer.name, len(leaves), root_from_leaf_hashes(leaves)), self.signer
        )
        self.checkpoints.append(note)
        return note

    def source(self) -> MemorySource:
        return MemorySource(list(self.entries), list(self.checkpoints), dict(self.texts))

    def write_export(self, folder: Path) -> Path:
        """Write the export layout of RECORD-CONTRACT §2."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "checkpoints").mkdir(exist_ok=True)
        (folder / "texts").mkdir(exist_ok=True)
        with (folder / "entries.jsonl").open("wb") as out:
            for entry in self.entries:
                out.write(entry + b"\n")
        for note in self.checkpoints:
            size = Checkpoint.parse(note[: note.rfind("\n\n") + 1]).size
            (folder / "checkpoints" / f"{size:020d}.txt").write_text(note, encoding="utf-8")
        for name, data in self.texts.items():
            (folder / "texts" / name).write_bytes(data)
        (folder / "verifier.key").write_text(self.signer.vkey + "\n", encoding="utf-8")
        manifest = {
            "format": "konsilo-export/1",
            "organisation": self.org,
            "origin": self.signer.name,
            "size": len(self.entries),
            "verifier_key": self.signer.vkey,
            "exported_at": "2026-12-01T12:00:00Z",
        }
        (folder / "manifest.json").write_bytes(canonical.dumps(manifest))
        (folder / "README.txt").write_text("A konsilo record export.\n", encoding="utf-8")
        return folder


def federation(builder: RecordBuilder) -> dict[str, Any]:
    """A small federation: two levels, three councils, three members, a census."""
    b = builder
    b.add(
        "organisation.created",
        {
            "slug": b.org,
            "name": "Fed",
            "levels": ["workplace", "region"],
            "parent_rule": "tree",
            "timezone": "UTC",
        },
    )
    b.add(
        "policy.versioned",
        {
            "scope": "organisation",
            "target": "",
            "number": 1,
            "preset": None,
            "values": {},
            "reason": "organisation founded",
        },
    )
    b.add("council.created", {"key": "north", "name": "North", "level": "region"})
    for key in ("bakery", "press"):
        b.add("council.created", {"key": key, "name": key.title(), "level": "workplace"})
        b.add("delegation.created", {"from": key, "to": "north"})
    members = {"ana": "bakery", "ben": "bakery", "cy": "press"}
    for name, base in members.items():
        b.add(
            "member.joined",
            {
                "member": f"m-{name}",
                "name": name.title(),
                "base": base,
                "secondary": [],
                "start": "2026-11-01",
                "status": "good_standing",
            },
            council=base,
        )
    b.add(
        "office.assigned",
        {
            "member": "m-ana",
            "kind": "delegate",
            "council": "north",
            "delegation_from": "bakery",
            "start": "2026-11-02",
            "scheduled_end": None,
        },
        council="north",
    )
    b.add(
        "census.frozen",
        {
            "on": "2026-11-03",
            "basis": "members_in_good_standing",
            "represented": {"bakery": 2, "north": 3, "press": 1},
        },
    )
    return {"members": members}


def add_membership(builder: RecordBuilder, member: str, council: str) -> int:
    """Append membership.added: ``member`` joins ``council`` as a secondary base."""
    return builder.add(
        "membership.added",
        {"member": member, "council": council, "primary": False, "start": "2026-11-05"},
        council=council,
    )


def open_vote(
    builder: RecordBuilder,
    item: str,
    *,
    council: str = "bakery",
    voters: Mapping[str, str] | None = None,
    method: str = "motion",
    rule: Mapping[str, Any] | None = None,
    secret: bool = False,
    extra: Mapping[str, Any] | None = None,
    basis: str | None = None,
) -> int:
    """Append vote.opened with a census of ``voters`` (member -> weight), and ``extra`` data
    (``instruction_of`` for a base's instruction vote). The census's basis is the members in
    good standing, or the delegations when the voters are delegations (``lower->higher``)."""
    voters = dict(voters or {"m-ana": "1", "m-ben": "1"})
    if basis is None:
        delegations = any("->" in k for k in voters)
        basis = "delegations" if delegations else "members_in_good_standing"
    census = {"basis": basis, "voters": len(voters), "weights": voters}
    return builder.add(
        "vote.opened",
        {
            "item": item,
            "council": council,
            "method": method,
            "rule": dict(rule or {"rule": "simple_majority"}),
            "options": ["yes", "no", "abstain"],
            "secret": secret,
            "policy_version": 1,
            "census": census,
            "closes_at": "2026-12-08T12:00:00Z",
            **(extra or {}),
        },
        council=council,
    )


def cast(
    builder: RecordBuilder, item: str, voter: str, ballot: Mapping[str, Any], **kw: Any
) -> int:
    """Append an open ballot.cast (or a secret one with ``receipt=``)."""
    data: dict[str, Any] = {"item": item, "weight": kw.pop("weight", "1"), "ballot": dict(ballot)}
    if "receipt" in kw:
        data["receipt"] = kw.pop("receipt")
    else:
        data["voter"] = voter
    return builder.add("ballot.cast", data, actor="", **kw)


def record_tally(
    builder: RecordBuilder,
    item: str,
    ballots: list[tuple[Mapping[str, Any], str]],
    *,
    method: str = "motion",
    rule: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Append tally.recorded with the result counted from ``ballots`` by count_ballots."""
    from fractions import Fraction

    from konsilo.counting.tally import count_ballots

    rule = dict(rule or {"rule": "simple_majority"})
    result = count_ballots(method, rule, [(b, Fraction(w)) for b, w in ballots])
    return builder.add(
        "tally.recorded",
        {
            "item": item,
            "method": method,
            "rule": rule,
            "result": canonical.loads(canonical.dumps(result)),
            "ballots": len(ballots),
            **(extra or {}),
        },
        actor="",
    )


def derive(
    builder: RecordBuilder,
    *,
    item: str,
    base_item: str,
    ballots: list[tuple[Mapping[str, Any], str]],
    delegation: str = "bakery->north",
    weight: str = "2",
    mode: str = "bound_majority",
    forge: Mapping[str, Any] | None = None,
) -> tuple[int, Any]:
    """Append mandate.derived, derived with konsilo.governance.mandates; return (index, mandate)."""
    import datetime as dt
    from fractions import Fraction

    from konsilo.governance.mandates import BaseVote, MandatePolicy, derive_mandate

    policy = MandatePolicy(mode=mode)
    base = BaseVote(
        base=delegation.split("->", maxsplit=1)[0],
        item=base_item,
        content_hash="h-1",
        method="motion",
        ballots=tuple((dict(b), Fraction(w)) for b, w in ballots),
        eligible=3,
        closed_at=dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
    )
    mandate = derive_mandate(
        base,
        delegation=delegation,
        content_hash="h-1",
        weight=Fraction(weight),
        policy=policy,
        item=item,
    )
    recorded = canonical.loads(canonical.dumps(mandate))
    recorded.update(forge or {})
    index = builder.add(
        "mandate.derived",
        {
            "item": item,
            "delegation": delegation,
            "policy": canonical.loads(canonical.dumps(policy)),
            "base_vote": canonical.loads(canonical.dumps(base)),
            "window": None,
            "mandate": recorded,
        },
        actor="",
    )
    return index, mandate


DEADLINE = "2026-12-08T12:00:00.000000Z"  # open_vote's closes_at, as an entry time


def close(builder: RecordBuilder, item: str, *, time: str = DEADLINE, sign: bool = True) -> int:
    """Append vote.closed (a count that may draw lots), at the deadline by default."""
    return builder.add(
        "vote.closed",
        {"item": item, "closes_at": "2026-12-08T12:00:00Z"},
        actor="",
        time=time,
        sign=sign,
    )


def closing_seed_of(builder: RecordBuilder, closing: int) -> tuple[str, int]:
    """The seed of the lots of the vote closed at entry ``closing``, and the checkpoint size
    it comes from: the first checkpoint signed over the closing."""
    from konsilo.counting import closing_seed
    from konsilo.record import Checkpoint as Head

    for note in builder.checkpoints:
        size = Head.parse(note[: note.rfind("\n\n") + 1]).size
        if size > closing:
            item = canonical.loads(builder.entries[closing])["data"]["item"]
            return closing_seed(item, hashlib.sha256(note.encode()).digest()), size
    raise AssertionError(f"no checkpoint is signed over entry {closing}")


def record_drawn_tally(
    builder: RecordBuilder,
    item: str,
    ballots: list[tuple[Mapping[str, Any], str]],
    *,
    rule: Mapping[str, Any],
    seed: str,
    seed_checkpoint: int,
    method: str = "irv",
) -> int:
    """Append the tally of a count that may draw lots, counted with ``seed``."""
    from fractions import Fraction

    from konsilo.counting.tally import count_ballots

    drawn = {**rule, "seed": seed}
    result = count_ballots(method, drawn, [(b, Fraction(w)) for b, w in ballots])
    return builder.add(
        "tally.recorded",
        {
            "item": item,
            "method": method,
            "rule": drawn,
            "result": canonical.loads(canonical.dumps(result)),
            "ballots": len(ballots),
            "seed_checkpoint": seed_checkpoint,
        },
        actor="",
        time="2026-12-08T12:00:01.000000Z",
    )
