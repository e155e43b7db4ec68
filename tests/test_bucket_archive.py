"""BucketArchive.write_once decides by what the bucket holds, including when an object
appears between its read and its create (no emulator needed: the bucket calls are faked)."""

from receipts.stores.gcp.bucket_archive import ArchiveOutcome, BucketArchive, BucketPath


class RacingBucket(BucketArchive):
    """A bucket where another writer creates `name` with `theirs` right after our first read."""

    def __init__(self, theirs: bytes) -> None:  # no client: the calls below stand in for it
        self.path = BucketPath("bucket", "receipts")
        self.objects_held: dict[str, bytes] = {}
        self.theirs = theirs
        self.reads = 0

    def _download(self, name: str) -> bytes | None:
        self.reads += 1
        held = self.objects_held.get(name)
        if self.reads == 1:
            self.objects_held[name] = self.theirs
        return held

    def _create(self, name: str, data: bytes) -> bool:
        if name in self.objects_held:
            return False  # generation precondition failed
        self.objects_held[name] = data
        return True


def test_the_same_bytes_written_meanwhile_are_already_archived_not_written_aside() -> None:
    data = b'{"receipt_id":"r_1"}\n'
    bucket = RacingBucket(theirs=data)
    assert bucket.write_once("w/1.jsonl", data) == (ArchiveOutcome.ALREADY_ARCHIVED, "w/1.jsonl")
    assert list(bucket.objects_held) == ["w/1.jsonl"]  # no second copy beside it


def test_other_bytes_written_meanwhile_send_ours_aside() -> None:
    bucket = RacingBucket(theirs=b'{"receipt_id":"r_2"}\n')
    outcome, aside = bucket.write_once("w/1.jsonl", b'{"receipt_id":"r_1"}\n')
    assert outcome is ArchiveOutcome.WRITTEN_ASIDE and aside != "w/1.jsonl"
    assert bucket.objects_held[aside] == b'{"receipt_id":"r_1"}\n'
