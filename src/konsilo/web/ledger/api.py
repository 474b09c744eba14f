"""The public record's JSON API (mounted under /api/v1/log/): proofs, receipts, checkpoints.

Anyone may read a log: these endpoints need no login. Hashes are base64, as in C2SP formats.
Bad indices or sizes are refused with the standard error body and a 4xx status.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from konsilo.web.api.schemas import ErrorOut
from konsilo.web.ledger import selectors

router = Router(auth=None, tags=["record"])

_ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class LogOut(Schema):
    origin: str
    size: int
    root: str = Field(..., description="base64 of the tree's root hash")
    checkpoint: str = Field(..., description="the latest signed checkpoint (C2SP signed note)")
    verifier_key: str = Field(..., description="the log's public key (C2SP vkey)")


class EntryOut(Schema):
    index: int
    entry: str = Field(..., description="the entry's exact bytes (canonical JSON)")
    leaf_hash: str


class InclusionOut(Schema):
    index: int
    size: int
    entry: str
    leaf_hash: str
    proof: list[str] = Field(..., description="RFC 9162 inclusion proof, sibling first, base64")
    root: str
    checkpoint: str | None = Field(
        None, description="the signed checkpoint of this size, when one was signed at it"
    )


class ConsistencyOut(Schema):
    old: int
    new: int
    old_root: str
    new_root: str
    proof: list[str] = Field(..., description="RFC 9162 consistency proof, base64")
    old_checkpoint: str | None
    new_checkpoint: str | None


class ReceiptOut(Schema):
    index: int
    receipt: str = Field(..., description="a c2sp.org/tlog-proof@v1 receipt, checkable offline")


def _org(slug: str) -> Any:
    return selectors.get_log_organisation(slug=slug)


@router.get("/{slug}", response={200: LogOut, **_ERRORS})
def get_log(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The latest signed checkpoint and the log's public key."""
    organisation = _org(slug)
    checkpoint = selectors.require_checkpoint(organisation)
    return {
        "origin": selectors.log_origin(organisation),
        "size": checkpoint.size,
        "root": selectors.b64(bytes(checkpoint.root)),
        "checkpoint": checkpoint.note,
        "verifier_key": selectors.verifier(organisation).vkey,
    }


@router.get("/{slug}/entries/{index}", response={200: EntryOut, **_ERRORS})
def get_entry(request: HttpRequest, slug: str, index: int) -> dict[str, Any]:
    """One signed entry by its index."""
    proof = selectors.prove_inclusion(_org(slug), index)
    return {
        "index": index,
        "entry": proof.entry.decode(),
        "leaf_hash": selectors.b64(proof.leaf_hash),
    }


@router.get("/{slug}/proof/inclusion", response={200: InclusionOut, **_ERRORS})
def inclusion(
    request: HttpRequest, slug: str, index: int, size: int | None = None
) -> dict[str, Any]:
    """The inclusion proof of entry ``index`` in the tree of ``size`` (default: latest signed)."""
    return selectors.prove_inclusion(_org(slug), index, size).as_dict()


@router.get("/{slug}/proof/consistency", response={200: ConsistencyOut, **_ERRORS})
def consistency(
    request: HttpRequest, slug: str, old: int, new: int | None = None
) -> dict[str, Any]:
    """The consistency proof from tree size ``old`` to ``new`` (default: latest signed)."""
    return selectors.prove_consistency(_org(slug), old, new)


@router.get("/{slug}/receipt/{index}", response={200: ReceiptOut, **_ERRORS})
def get_receipt(request: HttpRequest, slug: str, index: int) -> dict[str, Any]:
    """A tlog-proof@v1 receipt of entry ``index`` against the latest signed checkpoint."""
    return {"index": index, "receipt": selectors.receipt(_org(slug), index)}
