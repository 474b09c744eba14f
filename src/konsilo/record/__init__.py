"""The public record: RFC 9162 Merkle trees, proofs, C2SP checkpoints, tiles and receipts."""
