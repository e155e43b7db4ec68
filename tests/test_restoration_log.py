"""receipts.restoration.log on logs built in memory with receipts.tlog: what a restore
accepts (every published checkpoint, orphans past the last one) and each refusal (a
checkpoint signed by another key, of another log, forked; a tampered bundle; a file no
adopted size explains; a receipt logged twice or out of its chain's order; an unknown leaf)."""

import hashlib

import pytest

from receipts.restoration.log import LogRestoreRefused, leaves_by_entry, log_rows, published_log
from receipts.rows import UnloggedReceipt
from receipts.tlog.checkpoints import Checkpoint, sign_checkpoint
from receipts.tlog.integrate import integrate
from receipts.tlog.note_keys import NoteSigner, generate_key
from receipts.tlog.stored import MemoryHashes

ORIGIN = "billing.test/log"
KEY = NoteSigner(generate_key(ORIGIN))


def receipt(customer: str, sequence: int) -> UnloggedReceipt:
    digest = hashlib.sha256(f"{customer}/{sequence}".encode()).hexdigest()
    return UnloggedReceipt(customer, sequence, f"r_{customer}_{sequence}", digest)


class Published:
    """A log's published files, grown as a sequencer grows them."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hashes = MemoryHashes()
        self.entries: list[bytes] = []

    def append(self, receipts: list[UnloggedReceipt], sign: bool = True, key: NoteSigner = KEY) -> None:
        size = len(self.entries)
        partial = self.entries[size - size % 256 :]
        result = integrate(size, self.hashes, [r.entry for r in receipts], partial)
        self.hashes.hashes.update(result.stored_hashes)
        self.entries += [r.entry for r in receipts]
        self.files.update(result.files())
        if sign:
            self.files[f"checkpoints/{result.size}"] = sign_checkpoint(
                Checkpoint(key.name, result.size, result.root), [key]
            )

    def opened(self):
        return published_log(self.files, self.files.get, KEY.verifier)


def chain(customer: str, first: int, last: int) -> list[UnloggedReceipt]:
    return [receipt(customer, n) for n in range(first, last + 1)]


def test_every_checkpoint_is_kept_and_orphans_are_adopted() -> None:
    log = Published()
    log.append(chain("a", 1, 200) + chain("b", 1, 10))
    log.append(chain("a", 201, 300))
    log.append(chain("b", 11, 40), sign=False)  # killed before its checkpoint
    published = log.opened()
    assert (published.signed, published.size, published.adopted) == (310, 340, 30)
    assert sorted(published.checkpoints) == [210, 310]
    rows = log_rows(published, leaves_by_entry(chain("a", 1, 300) + chain("b", 1, 50)))
    assert rows.marks == {"a": 300, "b": 40}
    assert [leaf.receipt_id for leaf in rows.leaves[:2]] == ["r_a_1", "r_a_2"]
    assert len(rows.stored_hashes()) == len(log.hashes.hashes)


def test_nothing_published_is_none() -> None:
    assert Published().opened() is None


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda log: log.append(chain("a", 6, 6), key=NoteSigner(generate_key(ORIGIN))), "not a checkpoint signed"),
        (lambda log: log.files.update({"checkpoints/5": log.files["checkpoints/3"]}), "holds the checkpoint of size 3"),
        (lambda log: log.files.update({"tile/entries/000.p/5": b"\x00\x20" + bytes(32) * 5}), "entry bundle"),
        (lambda log: log.files.update({"tile/0/000.p/9": bytes(32 * 9)}), "published for a larger tree"),
        (lambda log: log.files.update({"tile/0/000.p/2": bytes(64)}), "a tampered tile"),
        (lambda log: log.files.update({"tile/0/000.p/5": bytes(160)}), "do not recompute to the signed root"),
    ],
)
def test_a_published_log_that_does_not_verify_is_refused(damage, reason: str) -> None:
    log = Published()
    log.append(chain("a", 1, 2))
    log.append(chain("a", 3, 3))
    log.append(chain("a", 4, 5))
    damage(log)
    with pytest.raises(LogRestoreRefused, match=reason):
        log.opened()


def test_a_forked_checkpoint_is_refused() -> None:
    log, other = Published(), Published()
    log.append(chain("a", 1, 4))
    other.append(chain("b", 1, 2))
    log.files["checkpoints/2"] = other.files["checkpoints/2"]
    with pytest.raises(LogRestoreRefused, match="the log forked"):
        log.opened()


@pytest.mark.parametrize(
    ("leaves", "reason"),
    [
        ([receipt("a", 1), receipt("a", 1)], "a receipt twice"),
        ([receipt("a", 2), receipt("a", 1)], "where the log can only hold sequence 1"),
        ([receipt("a", 1), receipt("z", 1)], "the hash of no receipt"),
    ],
)
def test_leaves_that_do_not_fit_the_stored_receipts_are_refused(leaves, reason: str) -> None:
    log = Published()
    log.append(leaves)
    with pytest.raises(LogRestoreRefused, match=reason):
        log_rows(log.opened(), leaves_by_entry(chain("a", 1, 3)))
