"""The log's hashes (RFC 6962 / RFC 9162 section 2.1): SHA-256 with one byte of domain
separation, so a leaf can never pass for an interior node.

An entry is the 32 raw bytes of what is logged (a receipt's SHA-256 payload hash); its leaf
hash is what the tree stores. The tree of no leaves has the hash of the empty string.
"""

import hashlib

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# The domain-separation prefixes, public so that a hot loop (receipts.tlog.integrate) can
# hash with hashlib.sha256(LEAF_PREFIX + entry) directly, without a call layer per node.
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the hash the tree stores for one entry."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node over two subtrees."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """k, the largest power of two with k < n (n > 1): where RFC 6962 splits a tree of n leaves."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)
